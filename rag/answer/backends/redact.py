"""`redact` lives in `rag.errors.redact`, below every layer that talks to a server; kept here for existing imports."""
from rag.errors.redact import MASK, redact

__all__ = ["MASK", "redact"]

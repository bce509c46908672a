"""The error every loader raises for a file it cannot read."""
from __future__ import annotations


class IngestError(Exception):
    """A document could not be loaded; the message names the file and what to do."""

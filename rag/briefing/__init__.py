"""Briefing notes on a topic, by perspective: groups (who speaks), the writer, Markdown/Word export."""
from rag.briefing.export import FORMATS, to_markdown, write
from rag.briefing.writer import Briefing, BriefingWriter

__all__ = ["Briefing", "BriefingWriter", "FORMATS", "to_markdown", "write"]

"""The Corpus tab's view: the index status line and the table of indexed documents."""
from __future__ import annotations

from typing import Sequence

from rag.types import Document
from ui.render import esc


def corpus_html(documents: Sequence[Document], chunk_counts: dict[str, int], status: dict) -> str:
    """The index status line and a table of the indexed documents with their section and chunk counts."""
    rows = "".join(
        f"<tr><td>{esc(d.title)}</td><td><code>{esc(d.source)}</code></td>"
        f"<td>{len(d.sections)}</td><td>{chunk_counts.get(d.id, '')}</td></tr>"
        for d in documents
    )
    table = ("<table class=\"rag-corpus\"><thead><tr><th>Document</th><th>File</th><th>Sections</th>"
             f"<th>Chunks</th></tr></thead><tbody>{rows}</tbody></table>")
    unreadable = "".join(f"<li><code>{esc(p['file'])}</code>: {esc(p['reason'])}</li>"
                         for p in status.get("unreadable_files", []))
    if unreadable:
        unreadable = f'<div class="rag-notice">Files that cannot be read, in no answer:<ul>{unreadable}</ul></div>'
    return f'<div class="rag-status">{esc(status_line(status))}</div>{unreadable}{table}'


def status_line(status: dict) -> str:
    """One sentence on the index: size, freshness, and what changed in the corpus since."""
    if not status.get("ok"):
        return f"No usable index: {status.get('error', 'unknown error')}"
    changes = status.get("corpus_changes", {})
    pending = ", ".join(f"{len(ids)} {kind}" for kind, ids in changes.items() if ids)
    state = "up to date" if status.get("up_to_date") else "needs re-indexing (" + (
        pending or "; ".join(status.get("stale_reasons", []))) + ")"
    return (f"Index {status.get('version', '')}: {status['documents']} documents, {status['chunks']} chunks, "
            f"updated {status.get('updated', '?')}; {state}.")

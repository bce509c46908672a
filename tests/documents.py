"""Small documents of every supported format, generated for tests."""
from __future__ import annotations

from pathlib import Path

import docx

MARKDOWN = """# Rusreform

Innledning om reformen.

## Politi

Politiet mener ressursene er for små.

### Tiltak

Mer opplæring på Politihøgskolen.

## Helse

Helsepersonell ønsker mer tid.
"""

HTML = """<!doctype html><html><head><title>Rapport om stigma</title>
<script>alert('x')</script><style>p{color:red}</style></head>
<body><nav>Meny Hjem Om oss</nav>
<h1>Rapport om stigma</h1><p>Innledning &amp; bakgrunn.</p>
<h2>Politi</h2><p>Politiet har for <b>lite</b> tid.</p><ul><li>Punkt en</li><li>Punkt to</li></ul>
<h2>Helse</h2><p>Legene mangler kunnskap.</p>
<footer>Kontakt oss</footer></body></html>
"""


def write_markdown(path: Path) -> Path:
    path.write_text(MARKDOWN, encoding="utf-8")
    return path


def write_html(path: Path) -> Path:
    path.write_text(HTML, encoding="utf-8")
    return path


def write_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Notat om LAR"
    document.core_properties.author = "Kari Nordmann"
    document.add_heading("Notat om LAR", level=0)
    document.add_paragraph("Legemiddelassistert rehabilitering reduserer overdoser.")
    document.add_heading("Tilgang", level=1)
    document.add_paragraph("Ventetiden er nesten borte.")
    document.add_heading("Kostnader", level=1)
    document.add_paragraph("Behandlingen er billig sammenlignet med alternativene.")
    document.save(path)
    return path


def write_pdf(path: Path, lines: list[str]) -> Path:
    """A one-page PDF with a real text layer (Helvetica, WinAnsi), no extra library."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


PDF_LINES = [
    "Tiltak i kommunene",
    "",
    "Kommunene må tilby flere boliger til personer med",
    "rusavhengighet. Dette gjelder særlig i de store byene.",
    "",
    "Oppfølging",
    "",
    "Tett oppfølging gir bedre resultater over tid.",
]

"""PDF plumbing shared by every printed document (certificates, council minutes and decisions): an A4
FPDF with the DejaVu fonts (Vietnamese glyphs) and the attachment response.

No font file is shipped in the repository: DejaVu (Debian's fonts-dejavu-core) is looked up in
CERTIFICATE_FONT_DIR.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app
from fpdf import FPDF

FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT = "DejaVu"


class FontMissing(RuntimeError):
    pass


def pdf_document(title: str, font_dir: str | None = None) -> FPDF:
    """An A4 portrait document with the Unicode fonts registered (FontMissing when they are absent)."""
    font_dir = font_dir or current_app.config["CERTIFICATE_FONT_DIR"]
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creator("OCOP")
    for style, name in FONT_FILES.items():
        path = Path(font_dir) / name
        if not path.is_file():
            raise FontMissing(f"{path} not found: install fonts-dejavu-core or set CERTIFICATE_FONT_DIR")
        pdf.add_font(FONT, style, str(path))
    return pdf


def pdf_response(body: bytes, filename: str) -> Response:
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

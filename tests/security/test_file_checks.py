"""Issue 12, item 8: files that only look like what they claim are refused; kept images carry nothing
but pixels. The rules alone (no storage), on the bytes an attacker would send."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.documents import verification
from tests.documents.conftest import DOCX, JPEG, PDF, XLSX, docx_bytes, pdf_bytes, xlsx_bytes


def _inspect(data: bytes, content_type: str, workdir: Path):
    return verification.inspect_upload([data], content_type, workdir, max_bytes=50 * 1024**2)


def _pdf_with(catalog_extra: bytes, extra_objects: tuple[bytes, ...] = ()) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_with_js_in_an_object_stream() -> bytes:
    """The JavaScript action lives in a compressed object stream: the raw bytes never show /JS."""
    action = b"<< /Type /Action /S /JavaScript /JS (app.alert\\(1\\)) >>"
    header = b"4 0 "
    stream = zlib.compress(header + action)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    objstm = len(out)
    out += (
        b"5 0 obj\n<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(header), len(stream))
        + stream
        + b"\nendstream\nendobj\n"
    )
    # A cross-reference stream (needed for objects inside object streams).
    xref_offset = len(out)
    rows = [(0, 0, 255)] + [(1, o, 0) for o in offsets] + [(2, 5, 0), (1, objstm, 0), (1, xref_offset, 0)]
    data = b"".join(bytes([t]) + f.to_bytes(4, "big") + bytes([g]) for t, f, g in rows)
    out += (
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 1] /Root 1 0 R /Length %d >>\nstream\n" % len(data)
        + data
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    )
    return bytes(out)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n",
        b"%PDF-1.7\n" + b" " * 100 + b"<!DOCTYPE html><p>hi</p>",
        pdf_bytes()[:-6] + b"<svg onload=alert(1)>\n%%EOF\n",
    ],
    ids=["html-after-header", "doctype-later", "svg-at-the-end"],
)
def test_markup_behind_a_pdf_header_is_refused(tmp_path, data):
    with pytest.raises(verification.Rejected) as refused:
        _inspect(data, PDF, tmp_path)
    assert refused.value.reason == verification.REASON_MARKUP


@pytest.mark.parametrize(
    "data",
    [
        _pdf_with(b"/OpenAction 4 0 R", (b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>",)),
        _pdf_with(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"),
        _pdf_with(b"/Names << /JavaScript 4 0 R >>", (b"<< /Names [(a) 5 0 R] >>",)),
        _pdf_with(b"/OpenAction << /S /Launch /F (calc.exe) >>"),
        _pdf_with_js_in_an_object_stream(),
    ],
    ids=["open-action-js", "hex-escaped-names", "names-tree", "launch", "inside-object-stream"],
)
def test_pdfs_that_run_javascript_are_refused(tmp_path, data):
    with pytest.raises(verification.Rejected) as refused:
        _inspect(data, PDF, tmp_path)
    assert refused.value.reason == verification.REASON_PDF_SCRIPT


def test_a_plain_pdf_is_still_accepted(tmp_path):
    data = pdf_bytes(padding=3000)
    assert _inspect(data, PDF, tmp_path).size == len(data)


def _bomb(base: bytes, part: str, inflated: int) -> bytes:
    """An OOXML container with one more part that inflates to `inflated` bytes of spaces."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item, source.read(item))
        with out.open(part, "w", force_zip64=True) as member:
            block = b" " * (4 * 1024 * 1024)
            for _ in range(inflated // len(block)):
                member.write(block)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "base, part, content_type",
    [(docx_bytes(), "word/media/padding.xml", DOCX), (xlsx_bytes(), "xl/sharedStrings2.xml", XLSX)],
    ids=["docx", "xlsx"],
)
def test_office_files_that_inflate_past_the_bound_are_refused(tmp_path, base, part, content_type):
    data = _bomb(base, part, 300 * 1024 * 1024)
    assert len(data) < 2 * 1024 * 1024  # a small upload…
    with pytest.raises(verification.Rejected) as refused:
        _inspect(data, content_type, tmp_path)
    assert refused.value.reason == verification.REASON_INFLATES  # …that would be 300 MiB on opening


def test_a_jpeg_comment_does_not_survive_re_encoding(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, format="JPEG", comment=b"SECRET-GPS 21.0,105.8")
    data = buffer.getvalue()
    assert b"SECRET-GPS" in data
    outcome = _inspect(data, JPEG, tmp_path)
    kept = outcome.replacement.read_bytes()
    assert b"SECRET-GPS" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert "comment" not in image.info and image.size == (40, 30)

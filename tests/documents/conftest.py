"""Fixtures for evidence documents on the real services: producers, signed-in producers, uploads that
really go to SeaweedFS through the presigned form, and the documents queue worked in this process."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
import requests
from rq import SimpleWorker
from sqlalchemy import select

from app.documents import services
from app.documents.models import Document
from app.extensions import db
from jobs.queues import get_queue, redis_connection
from tenants.context import tenant_scope
from tests.factories import producer_with_product, signed_in, user_of_role

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture()
def producer(app, tenants):
    """(producer_id, product_id) of a fresh Bắc Giang producer."""
    return producer_with_product(app, tenants["bac-giang"])


@pytest.fixture()
def producer_login(app, tenants):
    """Sign a fresh client in as a producer-role user of that producer: returns the client."""

    def _login(slug: str, producer_id: int, roles=("producer",)):
        _user_id, email = user_of_role(app, tenants[slug], *roles, producer_id=producer_id)
        return signed_in(app, slug, email)

    return _login


def post_to_storage(
    upload: dict, data: bytes, *, fields: dict | None = None, filename="tệp.bin", part_type="application/octet-stream"
) -> requests.Response:
    """What a browser does with the presigned form: its fields, then the file, straight to storage."""
    form = {**upload["fields"], **(fields or {})}
    return requests.post(upload["url"], data=form, files={"file": (filename, data, part_type)}, timeout=60)


def presign(
    app,
    tenant_id: int,
    producer_id: int,
    data: bytes,
    content_type: str,
    *,
    product_id=None,
    filename="ho-so.pdf",
    requirement="market_development",
    size=None,
):
    """document_presign in the tenant, committed: (document_id, upload)."""
    with app.app_context(), tenant_scope(tenant_id):
        document, upload = services.document_presign(
            producer_id=producer_id,
            product_id=product_id,
            requirement=requirement,
            filename=filename,
            content_type=content_type,
            size=len(data) if size is None else size,
            uploaded_by=None,
        )
        db.session.commit()
        return document.id, upload


def confirm(app, tenant_id: int, document_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        document = services.document_confirm(document_id)
        db.session.commit()
        return document.status


def upload_and_confirm(app, tenant_id: int, producer_id: int, data: bytes, content_type: str, **kwargs) -> int:
    """Presign, post the bytes to storage, confirm (the verification job is then queued)."""
    document_id, upload = presign(app, tenant_id, producer_id, data, content_type, **kwargs)
    response = post_to_storage(upload, data)
    assert response.status_code == 204, response.text
    assert confirm(app, tenant_id, document_id) == "pending"
    return document_id


def load(app, tenant_id: int, document_id: int) -> Document:
    with app.app_context(), tenant_scope(tenant_id):
        document = db.session.scalar(select(Document).where(Document.id == document_id))
        db.session.expunge(document)
        return document


def stored_bytes(app, key: str) -> bytes | None:
    from botocore.exceptions import ClientError

    from app.core.storage import s3_client

    with app.app_context():
        try:
            return s3_client().get_object(Bucket=app.config["S3_BUCKET"], Key=key)["Body"].read()
        except ClientError:
            return None


@pytest.fixture()
def documents_queue(app):
    """The test documents queue, emptied before and after."""
    with app.app_context():
        queue = get_queue("documents")
        queue.empty()
    yield queue
    with app.app_context():
        queue.empty()


def work_documents_queue(app) -> None:
    """Run every queued documents job in this process (as tests/test_health_and_jobs.py does)."""
    with app.app_context():
        SimpleWorker([get_queue("documents")], connection=redis_connection()).work(burst=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- sample files


def pdf_bytes(padding: int = 0) -> bytes:
    """A small but real PDF (one empty page), optionally padded with a comment block."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    if padding:
        out += b"%" + b"0" * padding + b"\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes(*, junk: bytes = b"", text: str | None = None, size=(32, 24)) -> bytes:
    from PIL import Image, PngImagePlugin

    image = Image.new("RGB", size, (31, 111, 67))
    info = None
    if text is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue() + junk


def jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (40, 30), (200, 16, 46))
    exif = Image.Exif()
    exif[0x010F] = "Camera của tôi"  # Make
    exif[0x8825] = {1: "N", 2: (21.0, 16.0, 30.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def webp_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 0, 255, 128)).save(buffer, format="WEBP")
    return buffer.getvalue()


def docx_bytes(*, main_part=True, macros=False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as container:
        container.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        container.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        if main_part:
            container.writestr(
                "word/document.xml",
                '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Phiếu kiểm nghiệm</w:t>'
                "</w:r></w:p></w:body></w:document>",
            )
        if macros:
            container.writestr("word/vbaProject.bin", b"\x00" * 64)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Chỉ tiêu", "Kết quả"])
    workbook.active.append(["Độ ẩm", 18.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<circle r='4'/></svg>"
)

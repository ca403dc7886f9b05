"""The verification job on real storage: what is accepted, what is rejected and why, and what is kept."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests
from PIL import Image

from app.core.storage import s3_client
from app.documents import services, verification
from app.documents.jobs import verify_document
from app.documents.services import VERIFIED_SHA256_META, DocumentError
from tenants.context import tenant_scope
from tests.documents.conftest import (
    DOCX,
    HTML,
    JPEG,
    PDF,
    PNG,
    SVG,
    WEBP,
    XLSX,
    confirm,
    docx_bytes,
    jpeg_with_gps,
    load,
    pdf_bytes,
    png_bytes,
    post_to_storage,
    presign,
    sha256,
    stored_bytes,
    upload_and_confirm,
    webp_bytes,
    xlsx_bytes,
)


def _verify(app, tenant_id, document_id):
    with app.app_context():
        return verify_document(tenant_id, document_id)


def _uploaded_and_verified(app, tenant_id, producer_id, data, content_type, **kwargs):
    document_id = upload_and_confirm(app, tenant_id, producer_id, data, content_type, **kwargs)
    _verify(app, tenant_id, document_id)
    return load(app, tenant_id, document_id)


def _metadata(app, key):
    with app.app_context():
        return s3_client().head_object(Bucket=app.config["S3_BUCKET"], Key=key)["Metadata"]


# --------------------------------------------------------------------------- rejected


@pytest.mark.parametrize(
    "data, reason",
    [
        (HTML, "Tệp HTML/SVG không được chấp nhận"),
        (SVG, "Tệp HTML/SVG không được chấp nhận"),
        (b"\xef\xbb\xbf  \n<svg xmlns='http://www.w3.org/2000/svg'/>", "Tệp HTML/SVG không được chấp nhận"),
        (png_bytes(), "Nội dung tệp không phải PDF"),
        (b"MZ\x90\x00" + b"\x00" * 200, "Nội dung tệp không phải PDF"),
    ],
    ids=["html", "svg", "svg-after-bom", "png", "exe"],
)
def test_what_is_not_a_pdf_is_rejected_when_declared_as_pdf(app, tenants, producer, data, reason):
    tenant_id = tenants["bac-giang"]
    document = _uploaded_and_verified(app, tenant_id, producer[0], data, PDF)
    assert (document.status, document.reject_reason) == ("rejected", reason)
    assert document.verified_at is not None
    assert stored_bytes(app, document.storage_key) is None  # a rejected file is not kept


@pytest.mark.parametrize(
    "data, content_type, reason",
    [
        (pdf_bytes(), PNG, "Nội dung tệp không phải ảnh PNG"),
        (SVG, PNG, "Tệp HTML/SVG không được chấp nhận"),
        (png_bytes(), JPEG, "Nội dung tệp không phải ảnh JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, PNG, "Ảnh bị hỏng hoặc không đọc được"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 64, WEBP, "Nội dung tệp không phải ảnh WebP"),
        (docx_bytes(main_part=False), DOCX, "Nội dung tệp không phải tài liệu Word (DOCX)"),
        (docx_bytes(), XLSX, "Nội dung tệp không phải bảng tính Excel (XLSX)"),
        (docx_bytes(macros=True), DOCX, "Tệp chứa macro, không được chấp nhận"),
        (b"PK\x03\x04" + b"\x00" * 100, DOCX, "Nội dung tệp không phải tài liệu Word (DOCX)"),
    ],
    ids=[
        "pdf-as-png",
        "svg-as-png",
        "png-as-jpeg",
        "broken-png",
        "wav-as-webp",
        "zip-without-document",
        "docx-as-xlsx",
        "macros",
        "broken-zip",
    ],
)
def test_bytes_that_do_not_match_the_declared_type_are_rejected(app, tenants, producer, data, content_type, reason):
    document = _uploaded_and_verified(app, tenants["bac-giang"], producer[0], data, content_type)
    assert (document.status, document.reject_reason) == ("rejected", reason)


# --------------------------------------------------------------------------- accepted


def test_a_real_pdf_is_accepted_byte_for_byte(app, tenants, producer):
    data = pdf_bytes(padding=5000)
    document = _uploaded_and_verified(app, tenants["bac-giang"], producer[0], data, PDF)
    assert document.status == "accepted" and document.reject_reason is None and document.verified_at
    assert (document.size, document.sha256) == (len(data), sha256(data))
    assert stored_bytes(app, document.verified_key) == data
    assert _metadata(app, document.verified_key) == {VERIFIED_SHA256_META: sha256(data)}


def test_a_png_is_re_encoded_without_metadata_or_trailing_payload(app, tenants, producer):
    junk = b"<script>alert(1)</script>" + b"Z" * 1000
    data = png_bytes(junk=junk, text="GPS 21.0,105.8 — nhà riêng")
    document = _uploaded_and_verified(app, tenants["bac-giang"], producer[0], data, PNG)
    assert document.status == "accepted"
    stored = stored_bytes(app, document.verified_key)
    assert document.sha256 != sha256(data)  # what was uploaded is not what is kept
    assert (document.size, document.sha256) == (len(stored), sha256(stored))
    assert junk not in stored and b"nh\xc3\xa0 ri\xc3\xaang" not in stored and b"tEXt" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and image.size == (32, 24) and image.getpixel((0, 0)) == (31, 111, 67)
    with app.app_context():
        head = s3_client().head_object(Bucket=app.config["S3_BUCKET"], Key=document.verified_key)
    assert head["ContentType"] == PNG and head["Metadata"] == {VERIFIED_SHA256_META: document.sha256}


def test_a_jpeg_loses_its_exif_and_gps(app, tenants, producer):
    data = jpeg_with_gps()
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif()
    document = _uploaded_and_verified(app, tenants["bac-giang"], producer[0], data, JPEG)
    assert document.status == "accepted"
    stored = stored_bytes(app, document.verified_key)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    assert b"Camera" not in stored and sha256(stored) == document.sha256


def test_webp_is_accepted_and_re_encoded(app, tenants, producer):
    document = _uploaded_and_verified(app, tenants["bac-giang"], producer[0], webp_bytes(), WEBP)
    assert document.status == "accepted"
    with Image.open(io.BytesIO(stored_bytes(app, document.verified_key))) as image:
        assert image.format == "WEBP" and image.mode == "RGBA"


@pytest.mark.parametrize("make, content_type", [(docx_bytes, DOCX), (xlsx_bytes, XLSX)], ids=["docx", "xlsx"])
def test_office_documents_are_accepted_unchanged(app, tenants, producer, make, content_type):
    data = make()
    document = _uploaded_and_verified(app, tenants["bac-giang"], producer[0], data, content_type)
    assert document.status == "accepted" and document.sha256 == sha256(data)
    assert stored_bytes(app, document.verified_key) == data


def test_verification_is_idempotent(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    document = _uploaded_and_verified(app, tenant_id, producer[0], pdf_bytes(), PDF)
    assert _verify(app, tenant_id, document.id) == "accepted"
    again = load(app, tenant_id, document.id)
    assert (again.verified_at, again.sha256, again.status) == (document.verified_at, document.sha256, "accepted")
    rejected = _uploaded_and_verified(app, tenant_id, producer[0], HTML, PDF)
    assert _verify(app, tenant_id, rejected.id) == "rejected"
    assert load(app, tenant_id, rejected.id).verified_at == rejected.verified_at


def test_an_unconfirmed_document_is_not_verified(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    document_id, upload = presign(app, tenant_id, producer[0], pdf_bytes(), PDF)
    post_to_storage(upload, pdf_bytes())
    assert _verify(app, tenant_id, document_id) == "awaiting_upload"


def test_a_job_of_one_tenant_cannot_verify_another_tenants_document(app, tenants, producer):
    document_id = upload_and_confirm(app, tenants["bac-giang"], producer[0], pdf_bytes(), PDF)
    assert _verify(app, tenants["ha-tinh"], document_id) == "missing"
    assert load(app, tenants["bac-giang"], document_id).status == "pending"


# --------------------------------------------------------------------------- downloads


def test_download_is_a_short_lived_attachment_with_the_stored_type(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    data = pdf_bytes()
    document = _uploaded_and_verified(
        app, tenant_id, producer[0], data, PDF, filename='Phiếu kiểm nghiệm "mật ong"; lô 3.pdf'
    )
    with app.app_context(), tenant_scope(tenant_id):
        url = services.document_download_url(load(app, tenant_id, document.id))
    assert "X-Amz-Expires=60" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == data
    assert response.headers["Content-Type"] == PDF
    assert response.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''Phi%E1%BA%BFu%20ki%E1%BB%83m%20nghi%E1%BB%87m%20%22m%E1%BA%ADt%20ong%22"
        "%3B%20l%C3%B4%203.pdf"
    )


def test_only_accepted_documents_can_be_downloaded(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    pending = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    rejected = _uploaded_and_verified(app, tenant_id, producer[0], SVG, PDF)
    with app.app_context(), tenant_scope(tenant_id):
        for document in (load(app, tenant_id, pending), rejected):
            with pytest.raises(DocumentError):
                services.document_download_url(document)


# --------------------------------------------------------------------------- the rules alone


def test_signature_is_checked_whatever_the_chunking(tmp_path: Path):
    data = pdf_bytes()
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]
    outcome = verification.inspect_upload(iter(chunks), PDF, tmp_path)
    assert (outcome.size, outcome.sha256, outcome.replacement) == (len(data), sha256(data), None)
    with pytest.raises(verification.Rejected, match="HTML/SVG"):
        verification.inspect_upload(iter([b" ", b"\n<", b"html>"]), PDF, tmp_path)
    with pytest.raises(verification.Rejected, match="Tệp rỗng"):
        verification.inspect_upload(iter([]), PDF, tmp_path)


def test_junk_is_refused_without_reading_the_rest(tmp_path: Path):
    read = []

    def chunks():
        for i in range(1000):
            read.append(i)
            yield b"<html>" + b"x" * 1024 * 1024

    with pytest.raises(verification.Rejected):
        verification.inspect_upload(chunks(), PDF, tmp_path)
    assert len(read) == 1


def test_an_image_too_large_to_decode_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(verification, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(verification.Rejected, match="Ảnh có kích thước quá lớn"):
        verification.inspect_upload(iter([png_bytes(size=(20, 20))]), PNG, tmp_path)


def test_declared_office_type_needs_its_main_part(tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as container:
        container.writestr("[Content_Types].xml", "<Types/>")
        container.writestr("xl/workbook.xml", "<workbook/>")
    assert verification.inspect_upload(iter([buffer.getvalue()]), XLSX, tmp_path).replacement is None
    with pytest.raises(verification.Rejected, match="DOCX"):
        verification.inspect_upload(iter([buffer.getvalue()]), DOCX, tmp_path)


def test_browsers_get_urls_of_the_public_storage_endpoint(app, tenants, producer, monkeypatch):
    """S3_PUBLIC_ENDPOINT_URL (storage reached at another address from outside): here the same server
    under another name; the presigned form and the signed GET must both work there."""
    tenant_id = tenants["bac-giang"]
    public = app.config["S3_ENDPOINT_URL"].replace("127.0.0.1", "localhost")
    monkeypatch.setitem(app.config, "S3_PUBLIC_ENDPOINT_URL", public)
    data = pdf_bytes()
    document_id, upload = presign(app, tenant_id, producer[0], data, PDF)
    assert upload["url"].startswith(public)
    assert post_to_storage(upload, data).status_code == 204
    confirm(app, tenant_id, document_id)
    _verify(app, tenant_id, document_id)
    with app.app_context(), tenant_scope(tenant_id):
        url = services.document_download_url(load(app, tenant_id, document_id))
    assert url.startswith(public) and requests.get(url, timeout=10).content == data

"""Is an uploaded object what it claims to be? Magic bytes, OOXML structure, images re-encoded.

Works on a stream of chunks with bounded memory: the body is hashed as it arrives and only kinds
that must be parsed as a whole (ZIP containers, images) are spooled to a temporary file on disk.
No database and no S3 client here (app/documents/jobs.py does the I/O), so the rules are testable alone.

Reasons for a rejection are stored on the document in Vietnamese (the source language) and
translated when shown; `N_` only marks them for the catalogue.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.zipcheck import ZipBomb, check_inflation

CHUNK_BYTES = 1024 * 1024
HEAD_BYTES = 64  # enough for every signature below, and to recognise markup
# A decoded image costs width × height × 4 bytes; larger photographs are refused, not decoded.
MAX_IMAGE_PIXELS = 50_000_000
# What a DOCX/XLSX may inflate to, all parts together (a real one is a few times its size).
MAX_OOXML_INFLATED = 256 * 1024 * 1024
# Markup after a "%PDF-" header: a browser sniffing the bytes would render it as a page.
PDF_MARKUP = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|script|iframe|svg[\s>]|object[\s>])", re.I)
# PDF names that run something: JavaScript (also as an /OpenAction or /AA), launching programs.
PDF_ACTIVE_NAMES = {b"JS", b"JavaScript", b"Launch"}
MAX_PDF_OBJECTS = 200_000


def N_(message: str) -> str:  # noqa: N802  (gettext's conventional name for "mark, don't translate")
    return message


REASON_MARKUP = N_("Tệp HTML/SVG không được chấp nhận")
REASON_EMPTY = N_("Tệp rỗng")
REASON_TOO_LARGE = N_("Tệp vượt quá dung lượng cho phép")
REASON_MACROS = N_("Tệp chứa macro, không được chấp nhận")
REASON_IMAGE_TOO_LARGE = N_("Ảnh có kích thước quá lớn")
REASON_IMAGE_BROKEN = N_("Ảnh bị hỏng hoặc không đọc được")
REASON_MISSING = N_("Không tìm thấy tệp trên kho lưu trữ")
REASON_GAVE_UP = N_("Không kiểm tra được tệp sau nhiều lần thử; vui lòng tải lên lại")
REASON_NOT_UPLOADED = N_("Tệp chưa được tải lên trong thời hạn")
REASON_PDF_SCRIPT = N_("Tệp PDF chứa mã JavaScript hoặc lệnh chạy chương trình, không được chấp nhận")
REASON_PDF_ENCRYPTED = N_("Tệp PDF được mã hóa nên không kiểm tra được; hãy lưu lại bản không mã hóa")
REASON_INFLATES = N_("Tệp nén giải nén ra quá lớn, không được chấp nhận")
# The backfill of verified copies (app/documents/jobs.py) found other bytes than those accepted.
REASON_CHANGED = N_("Tệp trên kho lưu trữ khác với tệp đã được chấp nhận; vui lòng tải lên lại")


@dataclass(frozen=True)
class Kind:
    label: str  # shown to people: PDF, JPEG, …
    extension: str
    not_this: str  # the rejection reason when the bytes are something else
    image_format: str | None = None  # Pillow format name: re-encoded
    zip_parts: tuple[str, ...] = ()  # OOXML: parts that must exist in the container


KINDS: dict[str, Kind] = {
    "application/pdf": Kind("PDF", "pdf", N_("Nội dung tệp không phải PDF")),
    "image/jpeg": Kind("JPEG", "jpg", N_("Nội dung tệp không phải ảnh JPEG"), image_format="JPEG"),
    "image/png": Kind("PNG", "png", N_("Nội dung tệp không phải ảnh PNG"), image_format="PNG"),
    "image/webp": Kind("WebP", "webp", N_("Nội dung tệp không phải ảnh WebP"), image_format="WEBP"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": Kind(
        "DOCX",
        "docx",
        N_("Nội dung tệp không phải tài liệu Word (DOCX)"),
        zip_parts=("[Content_Types].xml", "word/document.xml"),
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": Kind(
        "XLSX",
        "xlsx",
        N_("Nội dung tệp không phải bảng tính Excel (XLSX)"),
        zip_parts=("[Content_Types].xml", "xl/workbook.xml"),
    ),
}
# What browsers and operating systems also call the same kinds.
CONTENT_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}


class Rejected(Exception):
    """The object is not acceptable; `reason` is the Vietnamese text stored on the document."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """An acceptable object: size and sha256 of the bytes to keep, and those bytes when they were rewritten."""

    size: int
    sha256: str
    replacement: Path | None = None


def _signature_matches(content_type: str, head: bytes) -> bool:
    if content_type == "application/pdf":
        return head.startswith(b"%PDF-")
    if content_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if content_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/webp":
        return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if KINDS[content_type].zip_parts:
        return head.startswith(b"PK\x03\x04")
    return False


def looks_like_markup(head: bytes) -> bool:
    """HTML, SVG or XML, whatever it was declared as (a BOM and leading blanks do not hide it)."""
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom) :]
    head = head.replace(b"\x00", b"").lstrip().lower()
    return head.startswith(b"<")


def _check_head(content_type: str, head: bytes) -> None:
    if not head:
        raise Rejected(REASON_EMPTY)
    if _signature_matches(content_type, head):
        return
    raise Rejected(REASON_MARKUP if looks_like_markup(head) else KINDS[content_type].not_this)


def inspect_upload(
    chunks: Iterable[bytes], content_type: str, workdir: Path, *, max_bytes: int | None = None
) -> Outcome:
    """Read the object once, in chunks; raise Rejected or return what to keep.

    The signature is checked as soon as the first bytes arrive, so junk is refused without reading
    the rest. `workdir` holds the spooled container or image and the re-encoded image.
    """
    kind = KINDS[content_type]
    is_pdf = content_type == "application/pdf"
    spool_path = workdir / "upload"
    spool: BinaryIO | None = spool_path.open("wb") if (kind.image_format or kind.zip_parts or is_pdf) else None
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        for chunk in chunks:
            if not chunk:
                continue
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
                if len(head) >= HEAD_BYTES:
                    _check_head(content_type, head)
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise Rejected(REASON_TOO_LARGE)
            digest.update(chunk)
            if spool is not None:
                spool.write(chunk)
        if len(head) < HEAD_BYTES:  # a file shorter than the head buffer
            _check_head(content_type, head)
    finally:
        if spool is not None:
            spool.close()

    if kind.zip_parts:
        _check_ooxml(spool_path, kind)
    if is_pdf:
        _check_pdf(spool_path)
    if kind.image_format:
        return _reencode_image(spool_path, kind, workdir / "reencoded")
    return Outcome(size=size, sha256=digest.hexdigest())


def _check_ooxml(path: Path, kind: Kind) -> None:
    """A DOCX/XLSX is a ZIP container with its content-types part and main part; macros are refused."""
    try:
        with zipfile.ZipFile(path) as container:
            names = set(container.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise Rejected(kind.not_this) from None
    if not all(part in names for part in kind.zip_parts):
        raise Rejected(kind.not_this)
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise Rejected(REASON_MACROS)
    try:
        check_inflation(str(path), max_total=MAX_OOXML_INFLATED)
    except ZipBomb:
        raise Rejected(REASON_INFLATES) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise Rejected(kind.not_this) from None


def _check_pdf(path: Path) -> None:
    """No markup after the header (in the bytes as written); no JavaScript or launch actions in any object
    pypdf resolves, object streams included (names are read decoded: /J#61vaScript is /JavaScript). The
    raw bytes are not searched for names: compressed image data holds "/JS" by chance."""
    overlap = b""
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            window = overlap + chunk
            if PDF_MARKUP.search(window):
                raise Rejected(REASON_MARKUP)
            overlap = window[-256:]
    _check_pdf_objects(path)


def _check_pdf_objects(path: Path) -> None:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    try:
        reader = PdfReader(str(path), strict=False)
        todo: list = [reader.trailer]
        seen: set[tuple[int, int]] = set()
        visited = 0
        while todo:
            item = todo.pop()
            if isinstance(item, IndirectObject):
                key = (item.idnum, item.generation)
                if key in seen:
                    continue
                seen.add(key)
                item = item.get_object()
            visited += 1
            if visited > MAX_PDF_OBJECTS:
                raise Rejected(KINDS["application/pdf"].not_this)
            if isinstance(item, DictionaryObject):
                for name, value in item.items():
                    if name.lstrip("/").encode() in PDF_ACTIVE_NAMES:
                        raise Rejected(REASON_PDF_SCRIPT)
                    if (
                        name == "/S"
                        and isinstance(value, NameObject)
                        and value.lstrip("/").encode() in PDF_ACTIVE_NAMES
                    ):
                        raise Rejected(REASON_PDF_SCRIPT)
                    todo.append(value)
            elif isinstance(item, ArrayObject):
                todo.extend(item)
    except Rejected:
        raise
    except (DependencyError, FileNotDecryptedError):
        raise Rejected(REASON_PDF_ENCRYPTED) from None
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise Rejected(KINDS["application/pdf"].not_this) from None


def _reencode_image(path: Path, kind: Kind, target: Path) -> Outcome:
    """Decode and encode again: metadata (EXIF, GPS, comments) and anything appended are dropped.

    The orientation is applied to the pixels first so that the picture still looks the same; the
    colour profile is kept (it is part of how the picture looks, not information about it).
    """
    # Pillow is loaded only where images are re-encoded (the worker), not by every web process.
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path, formats=[kind.image_format]) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise Rejected(REASON_IMAGE_TOO_LARGE)
            image.load()
            icc_profile = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
            picture = ImageOps.exif_transpose(image)
            options = _save_options(kind.image_format, picture, icc_profile, transparency)
            picture = options.pop("_image")
            picture.info = {}  # Pillow writes info back (a JPEG's comment, a WebP's XMP): keep none of it
            picture.save(target, format=kind.image_format, **options)
    except Rejected:
        raise
    except Image.DecompressionBombError:
        raise Rejected(REASON_IMAGE_TOO_LARGE) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Rejected(REASON_IMAGE_BROKEN) from None
    digest = hashlib.sha256()
    size = 0
    with target.open("rb") as reencoded:
        while chunk := reencoded.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return Outcome(size=size, sha256=digest.hexdigest(), replacement=target)


def _save_options(image_format: str, picture, icc_profile, transparency) -> dict:
    options: dict = {}
    if image_format == "JPEG":
        if picture.mode not in ("L", "RGB", "CMYK"):
            picture = picture.convert("RGB")
        options.update(quality=90, optimize=False)
    elif image_format == "PNG":
        if picture.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        if transparency is not None and picture.mode in ("P", "L", "RGB"):
            options["transparency"] = transparency
    elif image_format == "WEBP":
        has_alpha = "A" in picture.getbands() or transparency is not None
        if picture.mode not in ("RGB", "RGBA"):
            picture = picture.convert("RGBA" if has_alpha else "RGB")
        options.update(quality=90)
    if icc_profile:
        options["icc_profile"] = icc_profile
    options["_image"] = picture
    return options

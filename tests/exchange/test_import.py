"""Importing producers and products from Excel: row-atomic, idempotent, tenant-bound, refuses bad files.

Workbooks are generated in memory; everything runs on the real database (RLS active). The big
import (1,000 rows, 30 bad ones of six kinds) runs once per module in Bắc Giang; its rows are
deleted at the end so other tests see the province as synced.
"""

from __future__ import annotations

import io
import tomllib
import unicodedata
import uuid
import zipfile
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select, text

from app.certification.models import Certificate
from app.core.text import fold
from app.exchange import lookups, writer
from app.exchange.columns import COLUMNS, COLUMNS_BY_KEY, CellError, cell_text
from app.exchange.reader import MAX_ROWS, OLE_MAGIC, WorkbookError
from app.exchange.template import import_template
from app.exchange.writer import ImportReport, import_workbook
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from tenants.catalogue import catalogue_units
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tenants.sync import PROVINCES_DIR

HEADERS = [c.template_header for c in COLUMNS]
ROWS = 1000


def _bac_giang_units():
    """(commune name, district name) pairs of the real province file; not those whose name a commune of the
    official catalogue since 01/07/2025 also has (a bare name is that one, a name with its district the earlier)."""
    data = tomllib.loads((PROVINCES_DIR / "bac-giang.toml").read_text(encoding="utf-8"))
    names = {u["code"]: u["name"] for u in data["units"]}
    later = {
        lookups.split_unit_name(u["name"])[2] for u in catalogue_units(data["official_code"]) if u.get("valid_from")
    }
    return [
        (u["name"], names[u["parent"]])
        for u in data["units"]
        if u["kind"] == "commune" and lookups.split_unit_name(u["name"])[2] not in later
    ]


COMMUNES = _bac_giang_units()
SETS = [
    ("I.1.1", "Rau, củ, quả, hạt tươi"),
    ("I.1.2", "Thịt, thủy sản, trứng, sữa tươi"),
    ("I.2.1", "Gạo, ngũ cốc, hạt sơ chế khác"),
    ("II.1.1", "Rượu trắng"),
    ("I.5.1", "Chè tươi, chè chế biến"),
]
KIND_SPELLINGS = {
    "htx": ["HTX", "Hợp tác xã"],
    "enterprise": ["Doanh nghiệp", "Công ty TNHH"],
    "coop_group": ["Tổ hợp tác", "tổ hợp tác"],
    "household": ["Hộ kinh doanh", "Hộ sản xuất", "Cơ sở sản xuất"],
}
KINDS = list(KIND_SPELLINGS)
TRADEMARKS = [
    ("Chưa có", "none"),
    ("Đang đăng ký", "applied"),
    ("Đã đăng ký", "registered"),
    ("Nhãn hiệu tập thể", "collective"),
    ("Chỉ dẫn địa lý", "geographical_indication"),
]
STARS = [("", None), (3, 3), ("4 sao", 4), ("5", 5)]
BAD_KINDS = ["missing_name", "unknown_commune", "bad_kind", "bad_email", "unknown_set", "bad_stars"]
EXPECTED_ERRORS = {  # kind → (column header as in the file, start of the message)
    "missing_name": ("Tên sản phẩm*", "Thiếu tên sản phẩm"),
    "unknown_commune": ("Xã/phường", "Không tìm thấy xã/phường 'Xã Không Có Thật' trong tỉnh"),
    "bad_kind": ("Loại hình chủ thể*", "Loại hình chủ thể không hợp lệ: 'Liên hiệp'"),
    "bad_email": ("Email", "Email không hợp lệ: 'khong-phai-email'"),
    "unknown_set": ("Bộ sản phẩm*", "Không tìm thấy bộ sản phẩm 'IX.9.9'"),
    "bad_stars": ("Số sao hiện có", "Số sao không hợp lệ: '6'"),
}


def xlsx(rows, headers=HEADERS, above=()) -> bytes:
    """A workbook whose first sheet has optional title rows, the headers, then the rows (dicts by header)."""
    workbook = Workbook()
    sheet = workbook.active
    for line in above:
        sheet.append(line)
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _unit_spelling(i: int, commune: str, district: str) -> str:
    """The same commune written as provinces do: full, bare without diacritics, decomposed capitals, qualified."""
    bare = commune.removeprefix("Xã ")
    return [commune, fold(bare), unicodedata.normalize("NFD", commune.upper()), f"{commune}, {district}"][i % 4]


def good_row(prefix: str, i: int) -> dict:
    k = i // 3  # three products per producer
    commune, district = COMMUNES[k % len(COMMUNES)]
    kind = KINDS[k % len(KINDS)]
    spellings = KIND_SPELLINGS[kind]
    capital = 1_500_000_000 + k * 1000
    phone = f"09{k:08d}"
    return {
        "STT": i + 1,
        "Tên sản phẩm*": f"{prefix} Sản phẩm {i}" if i % 5 else unicodedata.normalize("NFD", f"{prefix} Sản phẩm {i}"),
        "Bộ sản phẩm*": SETS[i % len(SETS)][i % 2],  # the code or the exact name
        "Tên chủ thể*": f"{prefix} Chủ thể {k}",
        "Loại hình chủ thể*": spellings[i % len(spellings)],
        "Mã số đăng ký kinh doanh": f"{prefix}-{k:05d}" if k % 2 == 0 else None,
        "Địa chỉ": f"Thôn {k}",
        "Xã/phường": _unit_spelling(i, commune, district),
        "Người đại diện": "Nguyễn Văn An",
        "Điện thoại": int(phone) if i % 2 else phone,  # a number cell loses the leading 0
        "Email": f"chu-the-{k}@example.vn",
        "Vốn": f"{capital:,}".replace(",", ".") if i % 2 else capital,
        "Lao động": 10 + k % 7,
        "Diện tích vùng nguyên liệu": "15 ha",
        "Công suất": "20 tấn/năm",
        "Thị trường": "Trong tỉnh, Hà Nội",
        "Nước xuất khẩu": "Nhật Bản, Hàn Quốc" if i % 7 == 0 else None,
        "Truy xuất nguồn gốc": "Tem QR",
        "Nhãn hiệu / CDĐL": TRADEMARKS[i % len(TRADEMARKS)][0],
        "Số sao hiện có": STARS[i % len(STARS)][0],
    }


def bad_row(prefix: str, i: int, kind: str) -> dict:
    row = good_row(prefix, i)
    row["Tên chủ thể*"] = f"{prefix} Chủ thể lỗi {i}"
    row["Tên sản phẩm*"] = f"{prefix} SP lỗi {i}"
    row["Mã số đăng ký kinh doanh"] = None
    if kind == "missing_name":
        row["Tên sản phẩm*"] = "   "
    elif kind == "unknown_commune":
        row["Xã/phường"] = "Xã Không Có Thật"
    elif kind == "bad_kind":
        row["Loại hình chủ thể*"] = "Liên hiệp"
    elif kind == "bad_email":
        row["Email"] = "khong-phai-email"
    elif kind == "unknown_set":
        row["Bộ sản phẩm*"] = "IX.9.9"
    elif kind == "bad_stars":
        row["Số sao hiện có"] = 6
    return row


def _count(model, prefix: str) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.name.ilike(f"{prefix}%")))


@pytest.fixture(scope="module")
def big(app, tenants):
    """The 1,000-row import into Bắc Giang, done once; its rows are removed afterwards."""
    prefix = f"NK{uuid.uuid4().hex[:6]}"
    rows, bad = [], {}
    for i in range(ROWS):
        if i % 33 == 7 and len(bad) < 30:
            kind = BAD_KINDS[len(bad) % len(BAD_KINDS)]
            bad[i + 2] = kind  # Excel row: the header is row 1
            rows.append(bad_row(prefix, i, kind))
        else:
            rows.append(good_row(prefix, i))
    data = xlsx(rows)
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(io.BytesIO(data))
        db.session.commit()
    # Speed is measured by tests/benchmarks/test_bench_counts.py (`make bench`), never asserted here.
    yield SimpleNamespace(prefix=prefix, rows=rows, bad=bad, data=data, report=report)
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        producers = select(Producer.id).where(Producer.name.ilike(f"{prefix}%"))
        db.session.execute(delete(Product).where(Product.producer_id.in_(producers)))
        db.session.execute(delete(Producer).where(Producer.name.ilike(f"{prefix}%")))
        db.session.commit()


def test_good_rows_go_in_and_every_bad_row_is_reported(app, tenants, big):
    good = [(i, r) for i, r in enumerate(big.rows) if i + 2 not in big.bad]
    producers = {r["Tên chủ thể*"] for _, r in good}
    report = big.report
    assert len(big.bad) == 30 and set(big.bad.values()) == set(BAD_KINDS)
    assert report.rows == ROWS
    assert (report.created_products, report.created_producers) == (len(good), len(producers))
    assert (report.updated_products, report.updated_producers, report.unchanged) == (0, 0, 0)
    # Each bad row: exactly one error, with its Excel row number, the column and the reason.
    assert report.failed_rows == sorted(big.bad)
    assert len(report.errors) == 30
    assert report.stars_need_decision == [i + 2 for i, r in good if r["Số sao hiện có"] != ""]
    for error in report.errors:
        header, message = EXPECTED_ERRORS[big.bad[error.row_number]]
        assert error.column_header == header and error.message.startswith(message), error

    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        assert _count(Product, big.prefix) == len(good)
        assert _count(Producer, big.prefix) == len(producers)
        # Nothing of a bad row: neither its producer nor its product.
        assert _count(Producer, f"{big.prefix} Chủ thể lỗi") == 0
        assert _count(Product, f"{big.prefix} SP lỗi") == 0
        # Stored as NFC, whatever the file had.
        names = db.session.scalars(select(Product.name).where(Product.name.like(f"{big.prefix}%"))).all()
        assert all(unicodedata.is_normalized("NFC", n) for n in names)

        # One row checked field by field (row index 1: producer 0, NFC name, int phone, "1.500.000.000").
        row = big.rows[1]
        product = db.session.scalar(select(Product).where(Product.name == row["Tên sản phẩm*"]))
        producer = db.session.get(Producer, (tenants["bac-giang"], product.producer_id))
        commune = db.session.scalar(select(AdminUnit).where(AdminUnit.name == COMMUNES[0][0]))
        product_set = db.session.scalar(
            select(TaxonomyNode).where(TaxonomyNode.act == "148/QĐ-TTg", TaxonomyNode.code == SETS[1][0])
        )
        assert (producer.name, producer.kind, producer.registration_no) == (
            f"{big.prefix} Chủ thể 0",
            "htx",
            f"{big.prefix}-00000",
        )
        assert (producer.unit_id, producer.phone, producer.capital_vnd) == (commune.id, "0900000000", 1_500_000_000)
        assert (producer.email, producer.workforce, producer.address) == ("chu-the-0@example.vn", 10, "Thôn 0")
        assert (product.product_set_id, product.unit_id) == (product_set.id, commune.id)
        # Its star (3) has no decision number/date in this template: reported, not stored anywhere.
        assert 3 in big.report.stars_need_decision
        assert db.session.scalar(select(func.count()).where(Certificate.product_id == product.id)) == 0
        assert (product.trademark_status, product.raw_material_area, product.traceability) == (
            "applied",
            "15 ha",
            "Tem QR",
        )
        exported = db.session.scalar(select(Product).where(Product.name == f"{big.prefix} Sản phẩm 14"))
        assert exported.export_countries == ["Nhật Bản", "Hàn Quốc"]
        # Producers without a registration number were matched by (name, commune): one each.
        assert (
            db.session.scalar(
                select(func.count()).select_from(Producer).where(Producer.name == f"{big.prefix} Chủ thể 1")
            )
            == 1
        )


def test_reimport_creates_nothing_and_changes_nothing(app, tenants, big):
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        before = (_count(Producer, big.prefix), _count(Product, big.prefix))
        report = import_workbook(io.BytesIO(big.data))
        db.session.commit()
        assert (report.created_producers, report.created_products) == (0, 0)
        assert (report.updated_producers, report.updated_products) == (0, 0)
        assert report.unchanged == ROWS - 30
        assert report.failed_rows == sorted(big.bad)
        assert (_count(Producer, big.prefix), _count(Product, big.prefix)) == before


def test_an_edited_cell_updates_the_row(app, tenants, big):
    rows = [dict(r) for r in big.rows]
    producer_name = f"{big.prefix} Chủ thể 10"  # rows 30-32
    for row in rows:
        if row["Tên chủ thể*"] == producer_name:
            row["Điện thoại"] = "0204 3855 123"  # the producer's phone, on each of its rows
    rows[101]["Số sao hiện có"] = 5  # one product's stars (3 before): needs a decision, so not applied
    rows[102]["Tên sản phẩm*"] = rows[102]["Tên sản phẩm*"].upper()  # the same product, its name re-cased
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(io.BytesIO(xlsx(rows)))
        db.session.commit()
        assert (report.created_producers, report.created_products) == (0, 0)
        assert (report.updated_producers, report.updated_products) == (1, 1)
        assert report.unchanged == ROWS - 30 - 2
        assert 103 in report.stars_need_decision
        assert db.session.scalar(select(Producer.phone).where(Producer.name == producer_name)) == "0204 3855 123"
        assert _count(Product, big.prefix) == ROWS - 30
        # The original file puts everything back.
        report = import_workbook(io.BytesIO(big.data))
        db.session.commit()
        assert (report.updated_producers, report.updated_products, report.unchanged) == (1, 1, ROWS - 30 - 2)


def test_rows_of_one_producer_must_agree_and_a_product_appears_once(app, tenants, big):
    rows = [dict(big.rows[i]) for i in (30, 31, 32)]  # producer 10
    rows[1]["Điện thoại"] = "0911 111 111"
    rows.append(dict(big.rows[30]))
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(xlsx(rows))
        assert [(e.row_number, e.column_header) for e in report.errors] == [(3, "Điện thoại"), (5, "Tên sản phẩm*")]
        assert "dòng 2" in report.errors[0].message and "dòng 2" in report.errors[1].message
        assert report.unchanged == 2
        db.session.rollback()


def test_imported_rows_are_invisible_from_another_tenant(app, tenants, big):
    with app.app_context():
        with tenant_scope(tenants["ha-tinh"]):
            assert _count(Producer, big.prefix) == 0 and _count(Product, big.prefix) == 0
            # Below the ORM too: row-level security alone hides them.
            raw = db.session.scalar(text("SELECT count(*) FROM products WHERE name LIKE :p"), {"p": f"{big.prefix}%"})
            assert raw == 0
            # And a Hà Tĩnh import does not match Bắc Giang's producers or communes.
            report = import_workbook(xlsx([good_row(big.prefix, 0)]))
            assert report.errors[0].message.startswith("Không tìm thấy xã/phường")
            db.session.rollback()
        with tenant_scope(tenants["bac-giang"]):
            raw = db.session.scalar(text("SELECT count(*) FROM products WHERE name LIKE :p"), {"p": f"{big.prefix}%"})
            assert raw == ROWS - 30


def test_a_producer_keeps_its_identity_when_the_registration_number_arrives_later(app, tenants):
    prefix = f"RG{uuid.uuid4().hex[:6]}"
    row = {
        "Tên sản phẩm*": f"{prefix} Vải thiều",
        "Bộ sản phẩm*": "I.1.1",
        "Tên chủ thể*": f"{prefix} HTX Vải",
        "Loại hình chủ thể*": "HTX",
        "Xã/phường": "Xã Giáp Sơn",
    }
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        assert import_workbook(xlsx([row])).created_producers == 1
        # Same name and commune, now with a registration number and in lower case: the same producer.
        later = {**row, "Mã số đăng ký kinh doanh": f"{prefix}-1", "Tên chủ thể*": f"{prefix} htx vải"}
        report = import_workbook(xlsx([later]))
        assert (report.created_producers, report.updated_producers, report.created_products) == (0, 1, 0)
        producers = db.session.scalars(select(Producer).where(Producer.name.ilike(f"{prefix}%"))).all()
        assert [(p.name, p.registration_no) for p in producers] == [(f"{prefix} htx vải", f"{prefix}-1")]
        # Without the commune the name alone finds it; another registration number is another producer.
        assert import_workbook(xlsx([{**later, "Xã/phường": None, "Mã số đăng ký kinh doanh": None}])).unchanged == 1
        other = import_workbook(xlsx([{**row, "Mã số đăng ký kinh doanh": f"{prefix}-2"}]))
        assert (other.created_producers, other.created_products) == (1, 1)
        db.session.rollback()


def test_a_tenant_on_1489_uses_the_148_product_sets(app, tenants):
    prefix = f"HT{uuid.uuid4().hex[:6]}"
    row = {
        "Tên sản phẩm*": f"{prefix} Kẹo cu đơ",
        "Bộ sản phẩm*": "Chế biến từ gạo, ngũ cốc",
        "Tên chủ thể*": f"{prefix} HTX Cu đơ",
        "Loại hình chủ thể*": "Hợp tác xã",
        "Xã/phường": "Phường Thành Sen",
    }
    with app.app_context(), tenant_scope(tenants["ha-tinh"]):
        report = import_workbook(xlsx([row]))
        assert report.errors == [] and report.created_products == 1
        product = db.session.scalar(select(Product).where(Product.name == row["Tên sản phẩm*"]))
        assert db.session.get(TaxonomyNode, product.product_set_id).act == "148/QĐ-TTg"
        db.session.rollback()


def with_a_phantom_product_set(monkeypatch) -> None:
    """The import's lookups know a product set IX.9.9 the database does not (a key only PostgreSQL checks)."""
    real = lookups.load_product_sets

    def with_a_phantom_set(act, level="set"):
        if level != "set":
            return real(act, level)
        return real(act) + [SimpleNamespace(id=-1, code="IX.9.9", name="Bộ không tồn tại", name_en="Phantom")]

    monkeypatch.setattr(writer, "load_product_sets", with_a_phantom_set)


def test_a_row_refused_by_the_database_leaves_nothing_behind(app, tenants, monkeypatch):
    """The savepoint: the row's new producer was inserted, then its product failed; both are gone."""
    with_a_phantom_product_set(monkeypatch)
    prefix = f"SP{uuid.uuid4().hex[:6]}"
    base = {"Bộ sản phẩm*": "I.1.1", "Loại hình chủ thể*": "HTX", "Xã/phường": COMMUNES[0][0]}
    rows = [
        {**base, "Tên sản phẩm*": f"{prefix} A", "Tên chủ thể*": f"{prefix} Chủ thể 1"},
        {**base, "Tên sản phẩm*": f"{prefix} B", "Tên chủ thể*": f"{prefix} Chủ thể 2", "Bộ sản phẩm*": "IX.9.9"},
        {**base, "Tên sản phẩm*": f"{prefix} C", "Tên chủ thể*": f"{prefix} Chủ thể 3"},
    ]
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(xlsx(rows))
        assert [(e.row_number, e.column_header) for e in report.errors] == [(3, None)]
        assert report.errors[0].message.startswith("Không lưu được dòng này")
        assert (report.created_producers, report.created_products) == (2, 2)
        names = set(db.session.scalars(select(Producer.name).where(Producer.name.like(f"{prefix}%"))))
        assert names == {f"{prefix} Chủ thể 1", f"{prefix} Chủ thể 3"}
        db.session.rollback()


def test_headers_in_any_order_and_spelling_under_a_title_extra_columns_ignored(app, tenants):
    prefix = f"HD{uuid.uuid4().hex[:6]}"
    headers = [
        "Ghi chú",
        "XA/PHUONG",
        "loai hinh chu the",
        "Tên  Chủ Thể",
        "BỘ SẢN PHẨM",
        unicodedata.normalize("NFD", "tên sản phẩm"),
        "Vốn (VNĐ)",
        "Email",
    ]
    row = dict(
        zip(
            headers,
            [
                "bỏ qua",
                "thuong lan",
                "Công ty cổ phần",
                f"  {prefix}   Công ty Vân Hà ",
                "chè tươi, CHÈ CHẾ BIẾN",
                f"{prefix} Chè",
                "2,000,000",
                None,
            ],
            strict=False,
        )
    )
    data = xlsx(
        [row, {h: None for h in headers}, {"Ghi chú": "chỉ có ghi chú"}],
        headers=headers,
        above=[["DANH SÁCH SẢN PHẨM OCOP TỈNH BẮC GIANG"], []],
    )
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(data)
        assert report.errors == [] and report.rows == 1 and report.created_products == 1
        producer = db.session.scalar(select(Producer).where(Producer.name.like(f"{prefix}%")))
        assert (producer.name, producer.kind, producer.capital_vnd) == (
            f"{prefix} Công ty Vân Hà",
            "enterprise",
            2_000_000,
        )
        unit = db.session.get(AdminUnit, (tenants["bac-giang"], producer.unit_id))
        assert unit.name == "Xã Thượng Lan"
        product = db.session.scalar(select(Product).where(Product.producer_id == producer.id))
        assert db.session.get(TaxonomyNode, product.product_set_id).code == "I.5.1"
        db.session.rollback()


def test_a_missing_required_column_refuses_the_file(app, tenants):
    headers = [h for h in HEADERS if h != "Bộ sản phẩm*"]
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        with pytest.raises(WorkbookError, match=r"Thiếu cột bắt buộc: Bộ sản phẩm\*"):
            import_workbook(xlsx([{"Tên sản phẩm*": "x"}], headers=headers))
        with pytest.raises(WorkbookError, match="Thiếu cột bắt buộc: Tên sản phẩm"):
            import_workbook(xlsx([], headers=["Cột A", "Cột B"]))
        with pytest.raises(WorkbookError, match="xuất hiện nhiều lần"):
            import_workbook(xlsx([], headers=HEADERS + ["Email"]))


def test_files_that_are_not_xlsx_or_too_big_are_refused(app, tenants):
    not_xlsx = io.BytesIO()
    with zipfile.ZipFile(not_xlsx, "w") as archive:
        archive.writestr("hello.txt", "xin chào")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        for data in (b"", b"Ten san pham;Bo san pham\n", not_xlsx.getvalue(), xlsx([])[:500]):
            with pytest.raises(WorkbookError, match="không phải là tệp Excel .xlsx"):
                import_workbook(io.BytesIO(data))
        with pytest.raises(WorkbookError, match=r"\(\.xls\)"):
            import_workbook(io.BytesIO(OLE_MAGIC + b"\0" * 512))
        headers = ["Tên sản phẩm", "Bộ sản phẩm", "Tên chủ thể", "Loại hình chủ thể"]
        too_many = xlsx(
            [dict(zip(headers, ["SP", "I.1.1", "HTX", "HTX"], strict=False))] * (MAX_ROWS + 1), headers=headers
        )
        with pytest.raises(WorkbookError, match=f"hơn {MAX_ROWS} dòng"):
            import_workbook(io.BytesIO(too_many))
        assert db.session.scalar(select(func.count()).select_from(Product).where(Product.name == "SP")) == 0


def test_template_round_trip(app, tenants):
    prefix = f"MT{uuid.uuid4().hex[:6]}"
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        data = import_template()
        workbook = load_workbook(io.BytesIO(data))
        assert workbook.sheetnames == ["Sản phẩm OCOP", "Hướng dẫn"]
        sheet = workbook["Sản phẩm OCOP"]
        assert [c.value for c in sheet[1]] == HEADERS and all(c.font.b for c in sheet[1])
        assert sheet.max_row == 1  # headers only
        assert import_workbook(io.BytesIO(data)) == ImportReport()  # its headers are accepted as they are
        guide = [
            " ".join(str(v) for v in row if v is not None) for row in workbook["Hướng dẫn"].iter_rows(values_only=True)
        ]
        for column in COLUMNS:
            assert any(line.startswith(column.template_header) for line in guide), column.key
        assert any("I.1.2" in line and "Thịt, thủy sản" in line for line in guide)
        assert any("Xã Phúc Hòa" in line for line in guide)
        assert any("Chỉ dẫn địa lý" in line for line in guide)
        # Fill the template as a province would, and import it.
        sheet.append([1, f"{prefix} Mật ong", "I.2.2", f"{prefix} HTX Ong", "HTX", None, None, "Xã Phúc Hòa"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        report = import_workbook(io.BytesIO(buffer.getvalue()))
        assert report.errors == [] and (report.created_producers, report.created_products) == (1, 1)
        db.session.rollback()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("capital", "1.500.000.000", 1_500_000_000),
        ("capital", 1500000000, 1_500_000_000),
        ("capital", 1500000000.0, 1_500_000_000),
        ("capital", "1,500,000,000 đ", 1_500_000_000),
        ("capital", "0", 0),
        ("workforce", "25", 25),
        ("kind", "HTX", "htx"),
        ("kind", "Hợp tác xã nông nghiệp Yên Thế", "htx"),
        ("kind", "Doanh nghiệp", "enterprise"),
        ("kind", "Công ty cổ phần", "enterprise"),
        ("kind", "Tổ hợp tác", "coop_group"),
        ("kind", "Hộ kinh doanh", "household"),
        ("kind", "Hộ sản xuất", "household"),
        ("kind", "Cơ sở sản xuất", "household"),
        ("trademark", "Chưa có", "none"),
        ("trademark", "Đang đăng ký", "applied"),
        ("trademark", "Đã đăng ký", "registered"),
        ("trademark", "Nhãn hiệu tập thể", "collective"),
        ("trademark", "chi dan dia ly", "geographical_indication"),
        ("stars", 3, 3),
        ("stars", "4 sao", 4),
        ("stars", "5★", 5),
        ("phone", 912345678, "0912345678"),
        ("phone", "0204 3855 123", "0204 3855 123"),
        ("email", "HTX@Example.VN", "HTX@example.vn"),
        ("export_countries", "Nhật Bản, Hàn Quốc; nhật bản", ["Nhật Bản", "Hàn Quốc"]),
    ],
)
def test_cell_parsers_accept_what_provinces_write(app, key, value, expected):
    with app.app_context():
        text_value = cell_text(value)
        assert COLUMNS_BY_KEY[key].parser(text_value, value, None) == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("capital", "-5"),
        ("capital", "1,5 tỷ"),
        ("capital", 12.5),
        ("capital", -1),
        ("workforce", "nhiều"),
        ("kind", "Liên hiệp"),
        ("trademark", "Có"),
        ("stars", "2"),
        ("stars", "6"),
        ("phone", "gọi sau"),
        ("email", "a@b"),
        ("product_name", "x" * 301),
    ],
)
def test_cell_parsers_refuse_the_rest(app, key, value):
    with app.app_context(), pytest.raises(CellError):
        COLUMNS_BY_KEY[key].parser(cell_text(value), value, None)

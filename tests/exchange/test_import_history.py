"""Issue 7, the import side: provinces' historic lists, re-imported exports, and the report.

Each test works on rows with a fresh prefix and rolls back, so counts are exact.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.certification.models import Certificate
from app.exchange.template import import_template
from app.exchange.writer import import_workbook
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tests.exchange.test_import import xlsx
from tests.exchange.workbooks import certified_list, certified_rows

HEAD = ["Tên sản phẩm", "Bộ sản phẩm", "Tên chủ thể", "Loại hình chủ thể", "Xã/phường"]


def _prefix() -> str:
    return f"H{uuid.uuid4().hex[:6]}"


def _row(prefix, product, producer, unit, **more):
    return {
        "Tên sản phẩm": f"{prefix} {product}",
        "Bộ sản phẩm": "I.1.1",
        "Tên chủ thể": f"{prefix} {producer}",
        "Loại hình chủ thể": "HTX",
        "Xã/phường": unit,
        **more,
    }


def _unit(code):
    return db.session.scalar(select(AdminUnit).where(AdminUnit.code == code))


def test_bug1_thi_xa_and_huyen_ky_anh_are_two_units(app, tenants):
    p = _prefix()
    with app.app_context(), tenant_scope(tenants["ha-tinh"]):
        # A bare 'Kỳ Anh' as the commune is the commune of that name (Xã Kỳ Anh since 01/07/2025); as the
        # district it names both district-level units.
        report = import_workbook(
            xlsx(
                [
                    _row(p, "A", "X", "Thị xã Kỳ Anh"),
                    _row(p, "B", "Y", "Huyện Kỳ Anh"),
                    _row(p, "C", "Z", None, **{"Huyện": "Kỳ Anh"}),
                    _row(p, "D", "W", "Kỳ Anh"),
                ],
                [*HEAD, "Huyện"],
            )
        )
        assert report.failed_rows == [4]  # bare 'Kỳ Anh' stays ambiguous, and the message names both
        message = report.errors[0].message
        assert "'Thị xã Kỳ Anh' (449)" in message and "'Huyện Kỳ Anh' (447)" in message
        units = dict(
            db.session.execute(select(Producer.name, Producer.unit_id).where(Producer.name.like(f"{p}%"))).all()
        )
        assert units == {f"{p} X": _unit("449").id, f"{p} Y": _unit("447").id, f"{p} W": _unit("2025-18775").id}
        db.session.rollback()


def test_bug5_bare_district_names_and_the_guide_lists_districts_with_codes_and_dates(app, tenants):
    p = _prefix()
    head = [*HEAD, "Huyện"]
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(
            xlsx(
                [_row(p, "A", "X", None, **{"Huyện": "Lục Ngạn"}), _row(p, "B", "Y", None, **{"Huyện": "Yên Dũng"})],
                head,
            )
        )
        assert report.errors == [] and report.created_products == 2
        units = dict(
            db.session.execute(select(Producer.name, Producer.unit_id).where(Producer.name.like(f"{p}%"))).all()
        )
        assert units == {f"{p} X": _unit("219").id, f"{p} Y": _unit("221").id}
        guide = load_workbook(io.BytesIO(import_template())).worksheets[1]
        lines = [[c.value for c in r] for r in guide.iter_rows()]
        assert [None, "219", "– 30/06/2025", "Huyện Lục Ngạn"] in lines
        assert any(line[0] == "Huyện/thị xã/thành phố của tỉnh" for line in lines)
        db.session.rollback()


def test_bug3_the_report_counts_rows_not_errors(app, tenants):
    p = _prefix()
    bad = [_row(p, f"A{i}", f"X{i}", "Xã Không Có", **{"Loại hình chủ thể": "Liên hiệp"}) for i in range(4)]
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(xlsx(bad, HEAD))
        assert len(report.errors) == 8 and report.failed_rows == [2, 3, 4, 5]
        db.session.rollback()


def test_bug4_a_producer_whose_commune_changed_is_matched_or_explained(app, tenants):
    """Same district: matched and noted. Another district: refused with the reason, never duplicated."""
    p = _prefix()
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        communes = db.session.scalars(
            select(AdminUnit).where(AdminUnit.parent_id.is_not(None)).order_by(AdminUnit.code)
        ).all()
        a = communes[0]
        same = next(u for u in communes if u.parent_id == a.parent_id and u.id != a.id)
        other = next(u for u in communes if u.parent_id != a.parent_id)
        assert import_workbook(xlsx([_row(p, "Nem", "HTX Nem chua 7", a.code)], HEAD)).created_producers == 1
        moved = import_workbook(xlsx([_row(p, "Nem", "HTX Nem chua 7", same.code)], HEAD))
        assert moved.errors == [] and moved.created_producers == 0 and moved.updated_producers == 1
        assert "coi là cùng chủ thể" in moved.notes[0].message
        elsewhere = import_workbook(xlsx([_row(p, "Nem", "HTX Nem chua 7", other.code)], HEAD))
        assert elsewhere.created_producers == 0 and elsewhere.failed_rows == [2]
        assert "mã số đăng ký kinh doanh" in elsewhere.errors[0].message
        assert db.session.scalar(select(func.count()).where(Producer.name == f"{p} HTX Nem chua 7")) == 1
        assert db.session.scalar(select(Producer.unit_id).where(Producer.name == f"{p} HTX Nem chua 7")) == same.id
        db.session.rollback()


def test_bug6_unknown_columns_are_named_in_the_report(app, tenants):
    p = _prefix()
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(
            xlsx([_row(p, "A", "X", "Lục Ngạn", **{"Ghi chú riêng": "x"})], [*HEAD, "Ghi chú riêng"])
        )
        assert report.unknown_columns == ["Ghi chú riêng"] and report.created_products == 1
        db.session.rollback()


def test_the_products_own_commune_and_the_provinces_codes(app, tenants):
    p = _prefix()
    head = [*HEAD, "Xã/phường nơi sản xuất", "Mã chủ thể", "Mã sản phẩm"]
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        communes = db.session.scalars(select(AdminUnit).where(AdminUnit.kind == "commune")).all()
        home, farm = communes[0], communes[-1]
        row = _row(p, "Vải", "HTX Vải", home.code, **{"Xã/phường nơi sản xuất": farm.code})
        row |= {"Mã chủ thể": f"{p}-CT1", "Mã sản phẩm": f"{p}-SP1"}
        assert import_workbook(xlsx([row], head)).created_products == 1
        # Renamed in the province's list: the codes still find both.
        renamed = row | {"Tên sản phẩm": f"{p} Vải thiều", "Tên chủ thể": f"{p} HTX Vải Lục Ngạn"}
        report = import_workbook(xlsx([renamed], head))
        assert (report.created_producers, report.created_products, report.updated_products) == (0, 0, 1)
        product = db.session.scalar(select(Product).where(Product.code == f"{p}-SP1"))
        producer = db.session.get(Producer, (product.tenant_id, product.producer_id))
        assert (product.name, product.unit_id, producer.unit_id) == (f"{p} Vải thiều", farm.id, home.id)
        db.session.rollback()


def test_group_only_rows_and_certificate_columns_are_checked(app, tenants):
    p = _prefix()
    head = [*HEAD, "Số sao", "Số quyết định", "Ngày quyết định", "Điểm", "Điểm phần A", "Điểm phần B", "Điểm phần C"]
    good = _row(p, "A", "X", "Lục Ngạn", **{"Bộ sản phẩm": "Thực phẩm", "Số sao": 3, "Số quyết định": "12/QĐ-UBND"})
    good |= {"Ngày quyết định": date(2020, 5, 4), "Điểm": 62.5, "Điểm phần A": 20, "Điểm phần B": 17.5}
    good |= {"Điểm phần C": 25}
    no_stars = _row(p, "B", "X", "Lục Ngạn", **{"Số quyết định": "13/QĐ-UBND", "Ngày quyết định": "04/05/2020"})
    bad_sum = good | {"Tên sản phẩm": f"{p} C", "Điểm": 70}
    bad_date = good | {"Tên sản phẩm": f"{p} D", "Ngày quyết định": "31/02/2020"}
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(
            xlsx([good, no_stars, bad_sum, bad_date, {**good, "Tên sản phẩm": f"{p} E", "Điểm": "1e999"}], head)
        )
        assert report.failed_rows == [3, 4, 5, 6] and report.certificates == 1
        messages = [e.message for e in report.errors]
        assert messages[0] == "Có quyết định công nhận nhưng thiếu số sao"
        assert messages[1] == "Tổng điểm khác tổng điểm các phần A, B, C"
        assert messages[2].startswith("Ngày không hợp lệ: '31/02/2020'")
        assert messages[3].startswith("Điểm không hợp lệ: '1e999'")
        product = db.session.scalar(select(Product).where(Product.name == f"{p} A"))
        assert db.session.get(TaxonomyNode, product.product_set_id).code == "I"  # the group: the set is unknown
        cert = db.session.scalar(select(Certificate).where(Certificate.product_id == product.id))
        assert (cert.stars, cert.score, cert.decision_number, cert.decision_date) == (
            3,
            Decimal("62.50"),
            "12/QĐ-UBND",
            date(2020, 5, 4),
        )
        assert cert.part_scores == {"A": "20.00", "B": "17.50", "C": "25.00"} and cert.source == "import"
        db.session.rollback()


def test_a_2020_list_of_146_certified_products_imports_cleanly(app, tenants):
    """Nam Định at 31/12/2020: 118 3★ + 28 4★, districts written without 'Huyện', dates as dates."""
    p = _prefix()
    rows = certified_rows(p)
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        report = import_workbook(certified_list(rows), as_of=date(2020, 12, 31))
        assert report.errors == [] and report.rows == 146 and report.certificates == 146
        assert (report.created_products, report.created_producers) == (146, 80)
        certs = db.session.execute(
            select(Product.name, Certificate.stars, Certificate.decision_date, Certificate.valid_to)
            .join(Certificate, Certificate.product_id == Product.id)
            .where(Product.name.like(f"{p} %"))
        ).all()
        assert len(certs) == 146
        assert {c.name: (c.stars, c.decision_date) for c in certs} == {
            r.product: (r.stars, r.decision_date) for r in rows
        }
        assert sum(1 for c in certs if c.stars == 3) == 118 and sum(1 for c in certs if c.stars == 4) == 28
        assert all(date(2019, 1, 1) <= c.decision_date <= date(2020, 12, 31) for c in certs)
        by_unit = dict(
            db.session.execute(
                select(AdminUnit.code, func.count())
                .join(Product, Product.unit_id == AdminUnit.id)
                .where(Product.name.like(f"{p} %"))
                .group_by(AdminUnit.code)
            ).all()
        )
        expected: dict[str, int] = {}
        for row in rows:
            expected[row.commune_code] = expected.get(row.commune_code, 0) + 1
        assert by_unit == expected
        again = import_workbook(certified_list(rows), as_of=date(2020, 12, 31))
        assert again.errors == [] and again.unchanged == 146
        db.session.rollback()


def _remove(app, tenant_id, prefix):
    from sqlalchemy import delete

    with app.app_context(), tenant_scope(tenant_id):
        producers = select(Producer.id).where(Producer.name.like(f"{prefix}%"))
        products = select(Product.id).where(Product.producer_id.in_(producers))
        db.session.execute(delete(Certificate).where(Certificate.product_id.in_(products)))
        db.session.execute(delete(Product).where(Product.producer_id.in_(producers)))
        db.session.execute(delete(Producer).where(Producer.name.like(f"{prefix}%")))
        db.session.commit()


def test_bug2_every_export_re_imports_unchanged_and_an_edited_star_is_applied(app, tenants, officer_login):
    officer, _uid, _email = officer_login("bac-kan")
    p = _prefix()
    head = [*HEAD, "Xã/phường nơi sản xuất", "Số sao", "Số quyết định", "Ngày quyết định"]
    head += ["Mã số đăng ký kinh doanh", "Điện thoại", "Vốn"]
    with app.app_context(), tenant_scope(tenants["bac-kan"]):
        communes = db.session.scalars(select(AdminUnit).where(AdminUnit.parent_id.is_not(None))).all()
        decision = {"Số sao": 3, "Số quyết định": "77/QĐ-UBND", "Ngày quyết định": date(2024, 3, 1)}
        rows = [
            _row(p, "Miến dong", "HTX Miến", communes[0].code, **decision, **{"Vốn": 1_500_000_000}),
            _row(p, "Rượu men lá", "HTX Miến", communes[0].code, **{"Xã/phường nơi sản xuất": communes[1].code}),
            _row(
                p,
                "Cam sành",
                "Hộ Cam",
                communes[2].code,
                **{"Mã số đăng ký kinh doanh": f"{p}-1", "Điện thoại": "0912345678"},
            ),
        ]
        first = import_workbook(xlsx(rows, head))
        assert first.errors == [] and first.created_products == 3
        db.session.add(Producer(name=f"{p} HTX chưa có sản phẩm", kind="htx", unit_id=communes[3].id))
        db.session.commit()
    try:
        for url, expected_rows in (
            (f"/bac-kan/products/export.xlsx?q={p}", 3),
            (f"/bac-kan/producers/export.xlsx?q={p}", 4),
        ):
            exported = officer.get(url)
            assert exported.status_code == 200
            headers = [c.value for c in load_workbook(io.BytesIO(exported.data)).worksheets[0][1]]
            with app.app_context(), tenant_scope(tenants["bac-kan"]):
                template_headers = [c.value for c in load_workbook(io.BytesIO(import_template())).worksheets[0][1]]
                assert headers == template_headers
                again = import_workbook(io.BytesIO(exported.data))
                assert (again.rows, again.unchanged, again.errors, again.unknown_columns) == (
                    expected_rows,
                    expected_rows,
                    [],
                    [],
                )
                assert (again.created_producers, again.created_products, again.updated_products) == (0, 0, 0)
                db.session.rollback()
        # Edit the star in the products export: the re-import applies it.
        exported = load_workbook(io.BytesIO(officer.get(f"/bac-kan/products/export.xlsx?q={p}").data))
        sheet = exported.worksheets[0]
        header = [c.value for c in sheet[1]]
        name_col, star_col = header.index("Tên sản phẩm*"), header.index("Số sao hiện có")
        for cells in sheet.iter_rows(min_row=2):
            if cells[name_col].value == f"{p} Miến dong":
                cells[star_col].value = 4
        buffer = io.BytesIO()
        exported.save(buffer)
        with app.app_context(), tenant_scope(tenants["bac-kan"]):
            edited = import_workbook(io.BytesIO(buffer.getvalue()))
            assert (edited.updated_products, edited.unchanged, edited.errors) == (1, 2, [])
            certs = db.session.scalars(
                select(Certificate.stars)
                .join(Product, Product.id == Certificate.product_id)
                .where(Product.name == f"{p} Miến dong")
            ).all()
            assert certs == [4]  # the same decision, corrected: no second certificate
            db.session.rollback()
    finally:
        _remove(app, tenants["bac-kan"], p)


def test_an_export_with_the_old_products_header_hang_sao_hien_co_is_applied(app, tenants):
    """Files exported before this change said 'Hạng sao hiện có' and 'Chủ thể'; the star is read."""
    p = _prefix()
    head = ["Tên sản phẩm", "Bộ sản phẩm", "Chủ thể", "Loại hình chủ thể", "Hạng sao hiện có", "Số QĐ", "Ngày QĐ"]
    row = {"Tên sản phẩm": f"{p} A", "Bộ sản phẩm": "I.1.1", "Chủ thể": f"{p} X", "Loại hình chủ thể": "HTX"}
    row |= {"Số QĐ": "5/QĐ-UBND", "Ngày QĐ": "15/06/2022"}
    with app.app_context(), tenant_scope(tenants["bac-kan"]):
        import_workbook(xlsx([row | {"Hạng sao hiện có": 3}], head))
        report = import_workbook(xlsx([row | {"Hạng sao hiện có": 4}], head))
        assert (report.updated_products, report.unchanged, report.errors) == (1, 0, [])
        stars = db.session.scalars(
            select(Certificate.stars)
            .join(Product, Product.id == Certificate.product_id)
            .where(Product.name == f"{p} A")
        ).all()
        assert stars == [4]
        # A star without a decision cannot become a certificate: the report names the row.
        alone = import_workbook(xlsx([{k: v for k, v in row.items() if k not in ("Số QĐ", "Ngày QĐ")}], head[:5]))
        assert alone.stars_need_decision == [] and alone.unchanged == 1
        starred = import_workbook(xlsx([row | {"Hạng sao hiện có": 4, "Số QĐ": None, "Ngày QĐ": None}], head))
        assert starred.stars_need_decision == [2]
        db.session.rollback()

"""Counts from the certificate records: the dashboard, its lists and the national overview agree with
a direct SQL count on the same date, in two provinces with different data, on several dates."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, text

from app.certification.counts import CountFilter, certificate_counts, counted_products
from app.extensions import db
from app.registry.models import TaxonomyNode
from tests.conftest import create_account, login
from tests.dashboard.conftest import add_certificate, add_product, tenant_scope, unit_id

DATES = (date(2020, 12, 31), date(2022, 12, 31), date(2025, 12, 31))

DIRECT_VALID = """
SELECT count(DISTINCT product_id) FROM certificates
WHERE valid_from <= :on AND valid_to >= :on AND decision_date <= :on
  AND (revoked_on IS NULL OR revoked_on > :on) AND (superseded_on IS NULL OR superseded_on > :on)
"""
DIRECT_EVER = "SELECT count(DISTINCT product_id) FROM certificates WHERE decision_date <= :on"
# The district of the product (its own unit, else its producer's): the unit if a district, else its parent.
DIRECT_VALID_BY_DISTRICT = """
SELECT d.name, count(DISTINCT c.product_id)
FROM certificates c JOIN products p ON p.id = c.product_id JOIN producers pr ON pr.id = p.producer_id
JOIN admin_units u ON u.id = coalesce(p.unit_id, pr.unit_id)
JOIN admin_units d ON d.id = CASE WHEN u.kind = 'district' THEN u.id ELSE u.parent_id END
WHERE c.valid_from <= :on AND c.valid_to >= :on
  AND (c.revoked_on IS NULL OR c.revoked_on > :on) AND (c.superseded_on IS NULL OR c.superseded_on > :on)
GROUP BY d.name
"""


def _set_id(code: str) -> int:
    return db.session.scalar(select(TaxonomyNode.id).where(TaxonomyNode.act == "148/QĐ-TTg", TaxonomyNode.code == code))


@pytest.fixture(scope="module")
def two_provinces(app, fresh_province):
    """Province A (a Nam Định copy): expiry, re-recognition, revocation, 5★, unknown score, no unit.
    Province B (a Hà Tĩnh copy): three 3★ of 2020 that lapse in 2023, a 4★ of 2024."""
    slug_a, tenant_a = fresh_province("nam-dinh")
    slug_b, tenant_b = fresh_province("ha-tinh")
    with app.app_context():
        with tenant_scope(tenant_a):
            fruit, wine = _set_id("I.1.1"), _set_id("II.1.1")
            p1 = add_product("Gạo tám", unit=unit_id("Xã Mỹ Hà"), product_set_id=fruit)
            add_certificate(p1, 3, date(2019, 6, 1), score=55)  # to 1/6/2022
            p2 = add_product("Rượu Kim Thái", unit=unit_id("Xã Kim Thái"), kind="enterprise", product_set_id=wine)
            add_certificate(p2, 4, date(2020, 3, 15), score=75)  # to 15/3/2023, superseded from 1/3/2023
            add_certificate(p2, 4, date(2023, 3, 1), score=78)
            p3 = add_product("Nem Hải Hậu", unit=unit_id("Huyện Hải Hậu"), kind="household")
            add_certificate(p3, 3, date(2021, 10, 1), score=65, revoked_on=date(2022, 6, 1))
            # No unit of its own: counted in its producer's district.
            p4 = add_product("Nước mắm Giao Châu", producer_unit=unit_id("Xã Giao Thiện"), product_set_id=fruit)
            add_certificate(p4, 5, date(2024, 1, 10), score=92)
            p5 = add_product("Bánh nhãn", unit=unit_id("Thị trấn Gôi"))
            add_certificate(p5, 3, date(2025, 9, 1))
            add_product("Chưa công nhận", unit=unit_id("Xã Mỹ Hà"))
            db.session.commit()
        with tenant_scope(tenant_b):
            for i, unit in enumerate(("Xã Can Lộc", "Xã Can Lộc", "Phường Thành Sen")):
                add_certificate(add_product(f"Cam {i}", unit=unit_id(unit)), 3, date(2020, 6, 1), score=60 + i)
            add_certificate(add_product("Chè Hương Sơn", unit=unit_id("Xã Hương Sơn")), 4, date(2024, 2, 1), score=81)
            db.session.commit()
    return {"a": (slug_a, tenant_a), "b": (slug_b, tenant_b)}


# (valid, ever) on each date of DATES, worked out by hand from the fixture above.
EXPECTED = {
    "a": [(2, 2), (1, 3), (3, 5)],
    "b": [(3, 3), (3, 3), (1, 4)],
}


def _direct(app, tenant_id: int, on: date) -> tuple[int, int]:
    with app.app_context(), tenant_scope(tenant_id):
        return (
            db.session.scalar(text(DIRECT_VALID), {"on": on}),
            db.session.scalar(text(DIRECT_EVER), {"on": on}),
        )


def _number(page: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}">([\d.]+)<', page)
    assert match, testid
    return int(match.group(1).replace(".", ""))


def _national_row(page: str, slug: str) -> list[int]:
    row = re.search(rf'<tr data-slug="{slug}">(.*?)</tr>', page, re.S).group(1)
    return [int(v.replace(".", "")) for v in re.findall(r'<td class="num">([\d.]+)</td>', row)]


def test_dashboard_and_national_agree_with_direct_sql(app, two_provinces, sign_in):
    _aid, email = create_account(app, "national_viewer")
    national = app.test_client()
    assert login(national, "/national/login", email).status_code == 302
    clients = {key: sign_in(slug, tid) for key, (slug, tid) in two_provinces.items()}
    for index, on in enumerate(DATES):
        national_page = national.get(f"/national/?on={on:%d/%m/%Y}").get_data(as_text=True)
        for key, (slug, tenant_id) in two_provinces.items():
            expected = EXPECTED[key][index]
            assert _direct(app, tenant_id, on) == expected
            page = clients[key].get(f"/{slug}/?on={on:%d/%m/%Y}").get_data(as_text=True)
            assert (_number(page, "count-valid"), _number(page, "count-ever")) == expected, (key, on)
            valid, ever, *by_star = _national_row(national_page, slug)
            assert (valid, ever) == expected, (key, on)
            assert sum(by_star) == valid


def test_breakdowns_on_a_date(app, two_provinces):
    slug, tenant_id = two_provinces["a"]
    on = date(2025, 12, 31)
    with app.app_context(), tenant_scope(tenant_id):
        counts = certificate_counts(on)
        by = {name: {row.label: (row.valid, row.ever) for row in rows} for name, rows in counts.by.items()}
        assert by["stars"] == {"3 sao": (1, 3), "4 sao": (1, 1), "5 sao": (1, 1)}
        assert by["kind"] == {"Hợp tác xã": (2, 3), "Doanh nghiệp": (1, 1), "Hộ sản xuất, kinh doanh": (0, 1)}
        assert by["district"] == {
            "Huyện Mỹ Lộc": (0, 1),
            "Huyện Hải Hậu": (0, 1),
            "Huyện Giao Thủy": (1, 1),
            "Huyện Vụ Bản": (2, 2),  # Xã Kim Thái and Thị trấn Gôi
        }
        direct = dict(db.session.execute(text(DIRECT_VALID_BY_DISTRICT), {"on": on}).all())
        assert direct == {name: valid for name, (valid, _ever) in by["district"].items() if valid}
        # p2's valid certificate (78) decides its band and year, not the superseded one (75, 2020).
        assert by["band"] == {
            "50–59": (0, 1),
            "60–69": (0, 1),
            "70–79": (1, 1),
            "90–100": (1, 1),
            "Chưa rõ điểm": (1, 1),
        }
        assert by["year"] == {"2019": (0, 1), "2021": (0, 1), "2023": (1, 1), "2024": (1, 1), "2025": (1, 1)}
        assert by["group"] == {"I Thực phẩm": (1, 2), "II Đồ uống": (1, 1), "Chưa rõ": (1, 2)}
        assert by["set"]["Chưa rõ"] == (1, 2)
        assert sum(v for v, _e in by["commune"].values()) == 3
        # On 31/12/2020 the same product p2 counts with its first certificate.
        old = certificate_counts(date(2020, 12, 31))
        assert {r.label: (r.valid, r.ever) for r in old.by["year"]} == {"2019": (1, 1), "2020": (1, 1)}


def test_every_number_links_to_its_list(app, two_provinces, sign_in):
    slug, tenant_id = two_provinces["a"]
    client = sign_in(slug, tenant_id)
    page = client.get(f"/{slug}/?on=31/12/2025").get_data(as_text=True)
    links = re.findall(r'<td class="num"><a href="([^"]+)">([\d.]+)</a></td>', page)
    assert len(links) >= 30
    for href, number in links:
        listing = client.get(href.replace("&amp;", "&"))
        assert listing.status_code == 200, href
        total = re.search(r'data-testid="counted-total">(\d+) ', listing.get_data(as_text=True)).group(1)
        assert int(total) == int(number.replace(".", "")), href
    with app.app_context(), tenant_scope(tenant_id):
        flt = CountFilter.from_args({"on": "31/12/2025", "status": "valid", "stars": "3"}, date.today())
        assert [row.Product.name for row in counted_products(flt)] == ["Bánh nhãn"]


BAD_DATES = ("31/02/2020", "abc", "99999999999999999999", "=1%2B1", "31/12/20200", "01/01/0001")
BAD_FILTERS = (
    ("district=abc", "Giá trị không hợp lệ"),
    ("district=99999999999999999999", "Giá trị không hợp lệ"),
    ("group=%00", "ký tự NUL"),  # refused for every page before any view reads it
    ("on=%00", "ký tự NUL"),
    ("year=9223372036854775807", "Giá trị không hợp lệ"),
    ("year=2147483648", "Giá trị không hợp lệ"),
    ("stars=9223372036854775807", "Giá trị không hợp lệ"),
    ("band=45", "Khoảng điểm không hợp lệ"),
    ("kind==cmd", "Loại hình chủ thể không hợp lệ"),
    ("status=all", "Trạng thái không hợp lệ"),
)


def test_bad_dates_and_filters_are_a_clear_message(app, two_provinces, sign_in):
    slug, tenant_id = two_provinces["a"]
    client = sign_in(slug, tenant_id)
    for bad in BAD_DATES:
        for url in (f"/{slug}/?on={bad}", f"/{slug}/counts/products?on={bad}"):
            response = client.get(url)
            assert response.status_code == 400, url
            assert "Ngày không hợp lệ" in response.get_data(as_text=True), url
    for query, message in BAD_FILTERS:
        response = client.get(f"/{slug}/counts/products?{query}")
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True), query


def test_national_bad_date_is_a_clear_message(app):
    _aid, email = create_account(app, "national_viewer")
    client = app.test_client()
    assert login(client, "/national/login", email).status_code == 302
    for url in ("/national/?on=32/01/2020", "/national/export.xlsx?on=x"):
        response = client.get(url)
        assert response.status_code == 400
        assert "Ngày không hợp lệ" in response.get_data(as_text=True)


def test_products_list_filters_by_group(app, two_provinces, sign_in):
    slug, tenant_id = two_provinces["a"]
    client = sign_in(slug, tenant_id)
    with app.app_context():
        food = db.session.scalar(
            select(TaxonomyNode.id).where(TaxonomyNode.act == "148/QĐ-TTg", TaxonomyNode.code == "I")
        )
    page = client.get(f"/{slug}/products?group_id={food}").get_data(as_text=True)
    names = re.findall(r'/products/\d+">([^<]+)</a>', page)
    assert sorted(names) == ["Gạo tám", "Nước mắm Giao Châu"]
    assert client.get(f"/{slug}/products?group_id=abc").status_code == 200  # an invalid choice filters nothing

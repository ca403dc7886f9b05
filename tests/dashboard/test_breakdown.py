"""A long breakdown of the counts (the communes) shows its largest rows on the dashboard and all of them on
a page of its own, with the same numbers and links."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.certification.counts import GLANCE_ROWS, CountRow, count_rows_glance
from app.extensions import db
from app.registry.models import Producer
from tenants.models import AdminUnit
from tests.dashboard.conftest import add_certificate, add_product, tenant_scope
from tests.factories import signed_in, user_of_role

COMMUNES = GLANCE_ROWS + 2
ON = "31/12/2025"


@pytest.fixture(scope="module")
def province(app, fresh_province):
    """The k-th commune (k = 1 … COMMUNES, by name) holds k certified products; a 13th commune holds one product
    whose certificate was revoked (valid 0, ever 1)."""
    slug, tenant_id = fresh_province("nam-dinh")
    with app.app_context(), tenant_scope(tenant_id):
        units = db.session.execute(
            select(AdminUnit.id, AdminUnit.name).where(AdminUnit.kind == "commune").order_by(AdminUnit.name)
        ).all()[: COMMUNES + 1]
        for k, (unit, name) in enumerate(units[:COMMUNES], start=1):
            for i in range(k):
                add_certificate(add_product(f"{name} {i}", unit=unit), 3, date(2025, 1, 10))
        add_certificate(add_product("Thu hồi", unit=units[-1][0]), 3, date(2025, 1, 10), revoked_on=date(2025, 6, 1))
        db.session.commit()
    return slug, tenant_id, [name for _id, name in units]


def _rows(page: str, name: str) -> list[tuple[str, int, int]]:
    table = re.search(rf'data-testid="counts-{name}">(.*?)</table>', page, re.S).group(1)
    found = re.findall(
        r'<tr data-key="\w+"><td>([^<]+)</td><td class="num"><a href="[^"]+">([\d.]+)</a></td>'
        r'<td class="num"><a href="[^"]+">([\d.]+)</a></td></tr>',
        table,
    )
    return [(label, int(valid), int(ever)) for label, valid, ever in found]


def test_dashboard_shows_the_largest_communes_and_links_to_all(app, province, sign_in):
    slug, tenant_id, names = province
    client = sign_in(slug, tenant_id)
    page = client.get(f"/{slug}/?on={ON}").get_data(as_text=True)
    # The ten communes with the most valid products, most first.
    expected = [(names[k - 1], k, k) for k in range(COMMUNES, COMMUNES - GLANCE_ROWS, -1)]
    assert _rows(page, "commune") == expected
    assert "10 dòng nhiều sản phẩm còn hiệu lực nhất, trong 13." in page
    href = re.search(r'<a href="([^"]+)" data-testid="counts-commune-all">', page).group(1).replace("&amp;", "&")
    assert href == f"/{slug}/counts/breakdown?by=commune&on=31/12/2025"
    # Short breakdowns are whole, in their own order, with no link.
    assert _rows(page, "stars") == [("3 sao", 78, 79)]
    assert 'data-testid="counts-stars-all"' not in page

    full = client.get(href)
    assert full.status_code == 200
    body = full.get_data(as_text=True)
    rows = _rows(body, "commune")
    assert sorted(rows) == sorted([(names[k - 1], k, k) for k in range(1, COMMUNES + 1)] + [(names[-1], 0, 1)])
    assert [label for label, *_ in rows] == sorted(label for label, *_ in rows)  # by name, as on the dashboard
    assert 'data-testid="counts-commune-all"' not in body
    # Every number of the full page links to exactly that many products.
    links = re.findall(r'<td class="num"><a href="([^"]+)">([\d.]+)</a></td>', body)
    assert len(links) == 2 * (COMMUNES + 1)
    for link, number in links:
        listing = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
        assert re.search(r'data-testid="counted-total">(\d+) ', listing).group(1) == number, link


@pytest.mark.parametrize(
    "query, message",
    [
        ("by=products", "Không có bảng số liệu này: &#39;products&#39;."),
        ("by==HYPERLINK(1)", "Không có bảng số liệu này: &#39;=HYPERLINK(1)&#39;."),
        ("by=" + "x" * 5000, "Không có bảng số liệu này: &#39;" + "x" * 40 + "&#39;."),
        ("", "Không có bảng số liệu này: &#39;&#39;."),
        ("by=commune&on=31/02/2025", "Ngày không hợp lệ"),
        ("by=commune&on=99999999999999999999", "Ngày không hợp lệ"),
    ],
)
def test_a_bad_breakdown_is_a_clear_message(app, province, sign_in, query, message):
    slug, tenant_id, _names = province
    response = sign_in(slug, tenant_id).get(f"/{slug}/counts/breakdown?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_the_breakdown_is_for_those_who_see_the_dashboard(app, province, sign_in):
    slug, tenant_id, _names = province
    with app.app_context(), tenant_scope(tenant_id):
        producer_id = db.session.scalar(select(Producer.id).limit(1))
    _uid, email = user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    producer = signed_in(app, slug, email)
    assert producer.get(f"/{slug}/counts/breakdown?by=commune").status_code == 403
    assert app.test_client().get(f"/{slug}/counts/breakdown?by=commune").status_code == 302  # to the login


def test_glance_keeps_short_breakdowns_whole_and_in_order():
    rows = [CountRow(str(k), f"Xã {k:02d}", k % 4, k) for k in range(1, 5)]
    assert count_rows_glance(rows, limit=4) is rows
    assert [r.key for r in count_rows_glance(rows, limit=3)] == ["3", "2", "1"]  # valid 3, 2, then 1 (ever 1 < 5)
    tied = [CountRow("a", "Xã B", 1, 1), CountRow("b", "Xã A", 1, 1), CountRow("c", "Xã C", 1, 2)]
    assert [r.key for r in count_rows_glance(tied, limit=2)] == ["c", "b"]

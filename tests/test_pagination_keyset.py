"""Keyset paging (app/core/pagination.py): lists ordered by a unique key page by a signed cursor.

Walking a list forward by its "next" links and back by its "previous" links visits every row exactly
once, in the list's order, ties in the sort column included; an altered, foreign or absurd cursor shows
the first page with a message (never a 500, never another province's rows); the product list's keyset
page reads only its own rows through the index on (tenant_id, name, id).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from app.core import pagination
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import create_user, csrf_token
from tests.factories import bulk_products, new_tenant, signed_in

TIED_PRODUCERS = 37
TIED_NAMES = ("Chè Shan tuyết", "Mật ong bạc hà", "Miến dong")  # each name 37 times: ties in the order
BAD_CURSOR = "Liên kết trang này không hợp lệ"


def _tied_province(app) -> tuple[int, str]:
    """37 producers all named alike, each with the same three product names: 111 products, 37 ties a name."""
    tenant_id, slug = new_tenant(app)
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(
            text(
                "INSERT INTO producers (tenant_id, name, kind, address, representative) "
                "SELECT :t, 'Hợp tác xã Tự Lập', 'htx', 'Thôn ' || g, 'Nguyễn Văn ' || g FROM generate_series(1, :n) g"
            ),
            {"t": tenant_id, "n": TIED_PRODUCERS},
        )
        db.session.execute(
            text(
                "INSERT INTO products (tenant_id, producer_id, name, other_units, raw_material_area, capacity, "
                "markets, export_countries, traceability, trademark_status) "
                "SELECT p.tenant_id, p.id, n, '', '', '', '', '{}', '', 'none' "
                "FROM producers p, unnest(CAST(:names AS text[])) n WHERE p.tenant_id = :t"
            ),
            {"t": tenant_id, "names": list(TIED_NAMES)},
        )
        db.session.commit()
    return tenant_id, slug


@pytest.fixture(scope="module")
def tied(app):
    tenant_id, slug = _tied_province(app)
    _uid, email = create_user(app, tenant_id, roles=("province_admin",))
    with app.app_context(), tenant_scope(tenant_id):
        products = db.session.execute(text("SELECT id FROM products ORDER BY name, id")).scalars().all()
        producers = db.session.execute(text("SELECT id FROM producers ORDER BY name, id")).scalars().all()
    return signed_in(app, slug, email), slug, tenant_id, products, producers


def _ids(html: str, what: str) -> list[int]:
    return [int(i) for i in re.findall(rf'<a href="/[^/]+/{what}/(\d+)">', html)]


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url: str, what: str, rel: str) -> tuple[list[list[int]], list[str], str]:
    """Follow the rel links from url to the end: the ids of each page, the URLs visited, the last page's HTML."""
    pages, urls = [], []
    while url is not None:
        assert len(pages) < 100, "the links go round in a circle"
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert BAD_CURSOR not in html, url
        pages.append(_ids(html, what))
        urls.append(url)
        url = _link(html, rel)
    return pages, urls, html


def test_products_walked_forward_then_back_visit_every_row_once_in_order(tied):
    client, slug, _tenant_id, products, _producers = tied
    assert len(products) == 111
    forward, urls, last = _walk(client, f"/{slug}/products?per_page=10", "products", "next")
    assert [len(p) for p in forward] == [10] * 11 + [1]
    assert [i for page in forward for i in page] == products  # each row once, in (name, id) order
    assert all("after=" in u and "page=" not in u.replace("per_page", "") for u in urls[1:])
    assert "111–111 trên 111" in last and "Trang 12 / 12" in last

    backward, back_urls, first = _walk(client, _link(last, "prev"), "products", "prev")
    assert backward == forward[-2::-1]  # the same pages, the same rows, in reverse
    assert all("before=" in u for u in back_urls[:-1]) and "before=" not in back_urls[-1]
    assert "1–10 trên 111" in first and "Trang 1 / 12" in first
    assert _link(first, "prev") is None


def test_producers_all_named_alike_walked_both_ways(tied):
    client, slug, _tenant_id, _products, producers = tied
    forward, _urls, last = _walk(client, f"/{slug}/producers?per_page=5", "producers", "next")
    assert [len(p) for p in forward] == [5] * 7 + [2]
    assert [i for page in forward for i in page] == producers
    backward, _urls, _first = _walk(client, _link(last, "prev"), "producers", "prev")
    assert backward == forward[-2::-1]


def test_filters_and_size_ride_along_with_the_cursor(tied):
    client, slug, _tenant_id, _products, _producers = tied
    forward, urls, last = _walk(client, f"/{slug}/products?q=mien+dong&per_page=7", "products", "next")
    assert [len(p) for p in forward] == [7] * 5 + [2]  # 37 "Miến dong"
    assert all("q=mien+dong" in u and "per_page=7" in u for u in urls)
    assert "36–37 trên 37" in last


def test_a_page_number_link_still_works_and_its_next_link_is_a_cursor(tied):
    client, slug, _tenant_id, products, _producers = tied
    html = client.get(f"/{slug}/products?per_page=10&page=4").get_data(as_text=True)
    assert _ids(html, "products") == products[30:40]
    assert "31–40 trên 111" in html and "Trang 4 / 12" in html
    following = client.get(_link(html, "next")).get_data(as_text=True)
    assert _ids(following, "products") == products[40:50]
    assert "41–50 trên 111" in following and "Trang 5 / 12" in following
    before = client.get(_link(following, "prev")).get_data(as_text=True)
    assert _ids(before, "products") == products[30:40]


def _next_cursor(client, url: str) -> str:
    return re.search(r"after=([^&]+)", _link(client.get(url).get_data(as_text=True), "next")).group(1)


@pytest.mark.parametrize("query", ["after=%00", "before=" + "%00" * 5000, "after=%F0%9F%98%80.%00"])
def test_nul_in_a_cursor_is_a_bad_request_like_anywhere_in_a_query(tied, query):
    client, slug, _tenant_id, _products, _producers = tied
    response = client.get(f"/{slug}/products?per_page=10&{query}")
    assert response.status_code == 400
    assert "ký tự NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "after=AAAA",  # not signed
        "after=" + "A" * 100_000,  # huge
        "before=" + "%F0%9F%98%80" * 2000,
        "after=x&after=y",
        "after=&before=",
        "after=%F0%9F%98%80.%FF%FE",
        "before=WyJNXHUxZWFkdCBvbmcgYlx1MWVhMWMgaFx1MDBlMCIsNF0",  # a payload without its signature
    ],
)
def test_a_cursor_that_is_not_ours_shows_the_first_page_with_a_message(tied, query):
    client, slug, _tenant_id, products, _producers = tied
    response = client.get(f"/{slug}/products?per_page=10&{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert BAD_CURSOR in html
    assert _ids(html, "products") == products[:10] and "1–10 trên 111" in html


def test_a_tampered_cursor_shows_the_first_page(tied):
    client, slug, _tenant_id, products, _producers = tied
    cursor = _next_cursor(client, f"/{slug}/products?per_page=10")
    assert (
        _ids(client.get(f"/{slug}/products?per_page=10&after={cursor}").get_data(as_text=True), "products")
        == (products[10:20])
    )
    payload, signature = cursor.split(".")
    for altered in (
        payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature,
        # The signature's first character: its last carries 2 unused bits, so an edit there may decode the same.
        payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
        payload,
        cursor + cursor,
    ):
        html = client.get(f"/{slug}/products?per_page=10&after={altered}").get_data(as_text=True)
        assert BAD_CURSOR in html and _ids(html, "products") == products[:10]
    # Both at once: not a position either.
    html = client.get(f"/{slug}/products?per_page=10&after={cursor}&before={cursor}").get_data(as_text=True)
    assert BAD_CURSOR in html and _ids(html, "products") == products[:10]


def test_a_cursor_of_another_list_is_not_used(tied):
    client, slug, _tenant_id, products, _producers = tied
    producers_cursor = _next_cursor(client, f"/{slug}/producers?per_page=5")
    html = client.get(f"/{slug}/products?per_page=10&after={producers_cursor}").get_data(as_text=True)
    assert BAD_CURSOR in html and _ids(html, "products") == products[:10]


def test_a_cursor_of_another_province_shows_nothing_of_it(app, tied):
    client, slug, _tenant_id, products, _producers = tied
    other_id, other_slug = new_tenant(app)
    bulk_products(app, other_id, producers=30, per_producer=1)
    _uid, other_email = create_user(app, other_id, roles=("province_admin",))
    other = signed_in(app, other_slug, other_email)
    with app.app_context(), tenant_scope(other_id):
        foreign = set(db.session.execute(text("SELECT id FROM products")).scalars())
    assert len(foreign) == 30
    foreign_cursor = _next_cursor(other, f"/{other_slug}/products?per_page=10")
    # The other province's cursor on this province's list: signed for another URL, not used.
    html = client.get(f"/{slug}/products?per_page=10&after={foreign_cursor}").get_data(as_text=True)
    assert BAD_CURSOR in html and _ids(html, "products") == products[:10]
    # And this province's cursor at the other province's URL: that province's own list, its first page.
    own_cursor = _next_cursor(client, f"/{slug}/products?per_page=10")
    html = other.get(f"/{other_slug}/products?per_page=10&after={own_cursor}").get_data(as_text=True)
    assert BAD_CURSOR in html and set(_ids(html, "products")) <= foreign and len(_ids(html, "products")) == 10
    # A cursor signed right (with the key) but carrying the other province's sort values only
    # positions: every row shown is this province's.
    with app.test_request_context(f"/{slug}/products"):
        spec = pagination.Keyset(_products_stmt())
        with tenant_scope(other_id):
            name, pid = db.session.execute(text("SELECT name, id FROM products ORDER BY name, id LIMIT 1")).one()
        crafted = pagination.cursor_encode(spec, [name, pid])
    html = client.get(f"/{slug}/products?per_page=200&after={crafted}").get_data(as_text=True)
    shown = _ids(html, "products")
    assert BAD_CURSOR not in html and shown and not set(shown) & foreign and set(shown) <= set(products)


def _products_stmt():
    from app.registry.services import products_query

    return products_query()


@pytest.mark.parametrize(
    "values",
    [
        ["Mật ong", "12"],  # text where the id is
        ["Mật ong", 2**70],  # beyond bigint
        ["Mật ong\x00", 1],  # NUL in text
        ["Mật ong", True],
        ["Mật ong", None],
        [{"d": "2026-13-45"}, 1],
        [{"x": "1"}, 1],
        [{"d": "2026-01-01", "t": "x"}, 1],
        [["Mật ong"], 1],
        ["Mật ong"],  # too few
        ["Mật ong", 1, 2],  # too many
        {"name": "Mật ong"},
    ],
)
def test_a_signed_cursor_with_absurd_values_is_refused_without_an_error(app, tied, values):
    """Had the key leaked: values PostgreSQL would choke on never reach it."""
    client, slug, _tenant_id, products, _producers = tied
    with app.test_request_context(f"/{slug}/products"):
        spec = pagination.Keyset(_products_stmt())
        crafted = pagination._serializer(spec).dumps(values)
    response = client.get(f"/{slug}/products?per_page=10&before={crafted}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert BAD_CURSOR in html and _ids(html, "products") == products[:10]


def test_the_message_is_in_english_too(app, tied):
    _client, slug, tenant_id, products, _producers = tied
    _uid, email = create_user(app, tenant_id, roles=("province_officer",))
    client = signed_in(app, slug, email)
    token = csrf_token(client, f"/{slug}/products")
    assert client.post(f"/{slug}/lang/en", data={"csrf_token": token, "next": f"/{slug}/"}).status_code == 302
    html = client.get(f"/{slug}/products?per_page=10&after=nonsense").get_data(as_text=True)
    assert 'lang="en"' in html and BAD_CURSOR not in html
    assert "This page link is not valid (altered, or from another list): here is the first page." in html
    assert _ids(html, "products") == products[:10]


def test_a_cursor_past_the_end_shows_the_last_page(app, tied):
    """The rows after the cursor are gone (deleted meanwhile): the last page, not an empty one."""
    client, slug, _tenant_id, products, _producers = tied
    with app.test_request_context(f"/{slug}/products"):
        crafted = pagination.cursor_encode(pagination.Keyset(_products_stmt()), ["Ω", 1])
    html = client.get(f"/{slug}/products?per_page=10&after={crafted}").get_data(as_text=True)
    assert BAD_CURSOR not in html
    assert _ids(html, "products") == products[110:] and "Trang 12 / 12" in html
    # And nothing before a cursor going back: the first page.
    with app.test_request_context(f"/{slug}/products"):
        crafted = pagination.cursor_encode(pagination.Keyset(_products_stmt()), ["A", 1])
    html = client.get(f"/{slug}/products?per_page=10&before={crafted}").get_data(as_text=True)
    assert BAD_CURSOR not in html
    assert _ids(html, "products") == products[:10] and "Trang 1 / 12" in html


def test_an_order_that_is_no_unique_key_is_refused_by_the_code():
    from sqlalchemy import select

    from app.registry.models import Product

    for stmt in (
        select(Product).order_by(Product.name),  # ties, no id
        select(Product).order_by(Product.id, Product.name),  # id not last
        select(Product).order_by(Product.unit_id, Product.id),  # a NULLable column
        select(Product.id, Product.name).order_by(Product.name, Product.id),  # no entity to read the values from
        select(Product).order_by(Product.name.desc().nulls_last(), Product.id),
    ):
        with pytest.raises(ValueError):
            pagination.Keyset(stmt)


# ----------------------------------------------------------------------------- the plan on 20,000 products


@contextmanager
def _sent(app):
    with app.app_context():
        engine = db.engine
    seen = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_keyset_page_of_20000_products_reads_only_its_rows(app):
    tenant_id, slug = new_tenant(app)
    bulk_products(app, tenant_id, producers=5000, per_producer=4)
    _uid, email = create_user(app, tenant_id, roles=("province_admin",))
    client = signed_in(app, slug, email)
    deep = client.get(f"/{slug}/products?page=398").get_data(as_text=True)
    url = _link(deep, "next")
    with _sent(app) as seen:
        html = client.get(url).get_data(as_text=True)
    assert "19.901–19.950 trên 20.000" in html and "Trang 399 / 400" in html
    page_sql = [(s, p) for s, p in seen if "LIMIT" in s and "count(" not in s]
    assert len(page_sql) == 1, [s for s, _p in seen]
    statement, parameters = page_sql[0]
    with app.app_context(), tenant_scope(tenant_id):
        raw = (
            db.session.connection().exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()
        )
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    nodes = list(_nodes(plan))
    on_products = [n for n in nodes if n.get("Relation Name") == "products"]
    assert len(on_products) == 1, json.dumps(plan)[:3000]
    scan = on_products[0]
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), json.dumps(plan)[:3000]
    assert scan["Index Name"] == "ix_products_tenant_id_name_id"
    assert re.search(r"ROW\(\(?name\)?(::text)?, id\) > ROW\(", scan["Index Cond"]), scan["Index Cond"]
    assert scan["Actual Rows"] * scan["Actual Loops"] == 50  # the page's rows, not the 19,900 before them
    # No sort of the list: the index gives its order (a product's own certificates may be sorted for its stars).
    assert not [
        n for n in nodes if n["Node Type"] == "Sort" and any(m.get("Relation Name") == "products" for m in _nodes(n))
    ]


# ----------------------------------------------------------------------------- the other keyset lists


@pytest.fixture(scope="module")
def records(app):
    """A province with 11 certificates decided the same day, 10 more inspections on two due days, and 23
    audit entries written in one transaction (one `at`) after the others: ties in every list's order."""
    from datetime import timedelta

    from app.audit.models import AuditEntry
    from app.core import clock
    from tests.factories import certificate_recorded, inspection_planned, producer_with_product

    tenant_id, slug = new_tenant(app)
    certificates = []
    for _ in range(11):
        _producer_id, product_id = producer_with_product(app, tenant_id)
        certificates.append(certificate_recorded(app, tenant_id, product_id))
    for i in range(10):
        inspection_planned(app, tenant_id, certificates[0], due_on=clock.today() + timedelta(days=30 + i % 2))
    with app.app_context(), tenant_scope(tenant_id):
        for i in range(23):
            db.session.add(
                AuditEntry(actor_kind="system", actor_label="Thử", action="update", entity="products", entity_id=i)
            )
        db.session.commit()
    _uid, email = create_user(app, tenant_id, roles=("province_admin",))
    return signed_in(app, slug, email), slug, tenant_id


@pytest.mark.parametrize(
    ("path", "what", "order", "size"),
    [
        ("certificates", "certificates", "SELECT id FROM certificates ORDER BY decision_date DESC, id DESC", 3),
        ("inspections/", "inspections", "SELECT id FROM inspections ORDER BY due_on, id", 4),
        ("audit/", "audit", "SELECT id FROM audit_log ORDER BY at DESC, id DESC", 5),
        (  # the products behind a figure of the dashboard: every certified product here
            "counts/products?status=ever",
            "products",
            "SELECT id FROM products WHERE id IN (SELECT product_id FROM certificates) ORDER BY name, id",
            2,
        ),
    ],
)
def test_other_lists_walked_both_ways_visit_every_row_once(app, records, path, what, order, size):
    client, slug, tenant_id = records
    with app.app_context(), tenant_scope(tenant_id):
        expected = db.session.execute(text(order)).scalars().all()
        if what == "audit":  # the ties: one transaction, one moment
            moments = db.session.execute(text("SELECT count(DISTINCT at) FROM audit_log WHERE actor_label = 'Thử'"))
            assert moments.scalar() == 1
    assert len(expected) >= {"certificates": 11, "inspections": 10, "audit": 23, "products": 11}[what]
    forward, urls, last = _walk(client, f"/{slug}/{path}{'&' if '?' in path else '?'}per_page={size}", what, "next")
    pages = -(-len(expected) // size)
    assert len(forward) == pages and all(len(p) == size for p in forward[:-1])
    assert [i for page in forward for i in page] == expected
    assert all("after=" in u for u in urls[1:])
    assert f"Trang {pages} / {pages}" in last
    backward, _urls, first = _walk(client, _link(last, "prev"), what, "prev")
    assert backward == forward[-2::-1]
    assert f"1–{size} trên {len(expected)}" in first


def test_the_filter_form_keeps_the_page_size_and_starts_from_the_first_page(tied):
    client, slug, _tenant_id, _products, _producers = tied
    html = client.get(f"/{slug}/products?per_page=7&q=mien").get_data(as_text=True)
    form = re.search(r'<form method="get" class="filters">(.*?)</form>', html, re.S).group(1)
    assert '<input type="hidden" name="per_page" value="7">' in form
    assert "after" not in form and "before" not in form  # a new filter starts again at the top
    plain = client.get(f"/{slug}/products").get_data(as_text=True)
    assert 'name="per_page"' not in plain


def test_an_order_of_mixed_directions_walks_both_ways_too(app, tied):
    """(name ASC, id DESC): no row comparison serves it; the expanded condition does (no list uses it yet)."""
    from sqlalchemy import select

    from app.registry.models import Product

    _client, slug, tenant_id, _products, _producers = tied
    with app.app_context(), tenant_scope(tenant_id):
        expected = db.session.execute(text("SELECT id FROM products ORDER BY name, id DESC")).scalars().all()

    def page_at(url):
        with app.test_request_context(url), tenant_scope(tenant_id):
            stmt = select(Product).order_by(Product.name, Product.id.desc())
            page = pagination.paginate(stmt, scalars=True, keyset=True)
            ids = [p.id for p in page.items]
            return ids, page.next_url if page.has_next else None, page.prev_url if page.has_prev else None, page

    url, forward, last_prev = f"/{slug}/products?per_page=8", [], None
    while url:
        ids, url, last_prev, page = page_at(url)
        forward.append(ids)
    assert [i for p in forward for i in p] == expected and len(forward) == 14
    assert (page.first_index, page.last_index, page.total) == (105, 111, 111)
    backward, url = [], last_prev
    while url:
        ids, _next, url, _page = page_at(url)
        backward.append(ids)
    assert backward == forward[-2::-1]

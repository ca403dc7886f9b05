"""Key pages cost few queries (a regression guard, counted with SQLAlchemy's engine events).

Counted on a province of 2,000 products: the dashboard, the product list's first and a deep page, a
search, and a product's page. Every statement the request sends counts, set_config included. What is
counted is the page rendered: the whole-page cache (app/auth/page_cache.py, tests/test_page_cache.py)
is turned off here, else a page seen again would send none.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from app.extensions import db
from tests.conftest import create_user
from tests.factories import bulk_products, new_tenant, signed_in

LIMIT = 6


@contextmanager
def counted(app):
    """Statements sent to PostgreSQL (and transactions begun) while the block runs."""
    with app.app_context():
        engine = db.engine
    seen = {"statements": [], "begins": 0}

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen["statements"].append(statement)

    def on_begin(conn):
        seen["begins"] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "begin", on_begin)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "begin", on_begin)


@pytest.fixture(autouse=True)
def _rendered(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE", False)


@pytest.fixture(scope="module")
def province(app):
    tenant_id, slug = new_tenant(app)
    bulk_products(app, tenant_id, producers=500, per_producer=4)
    _uid, email = create_user(app, tenant_id, roles=("province_admin",))
    from app.registry.models import Product
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        product_id, name = db.session.execute(select(Product.id, Product.name).order_by(Product.id.desc())).first()
    return signed_in(app, slug, email), slug, product_id, name.rsplit(" ", 1)[1]


def _pages(slug, product_id, tag):
    return {
        "dashboard": f"/{slug}/",
        "products, page 1": f"/{slug}/products",
        "products, deep page": f"/{slug}/products?page=39",
        "products, deep page by cursor": f"/{slug}/products?page=38",  # its "next" link: page 39 by cursor
        "search": f"/{slug}/products?q={tag}",
        "product page": f"/{slug}/products/{product_id}",
    }


PAGES = ["dashboard", "products, page 1", "products, deep page", "products, deep page by cursor", "search"]


@pytest.mark.parametrize("page", [*PAGES, "product page"])
def test_key_pages_cost_few_queries_in_one_transaction(app, province, page):
    client, slug, product_id, tag = province
    url = _pages(slug, product_id, tag)[page]
    if "cursor" in page:
        html = client.get(url).get_data(as_text=True)
        url = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert "after=" in url
    client.get(url)  # warm: anything loaded once per process is not the page's cost
    with counted(app) as seen:
        response = client.get(url)
    assert response.status_code == 200
    if "deep page" in page:
        assert "1.901–1.950 trên 2.000" in response.get_data(as_text=True)
    print(f"\n{page}: {len(seen['statements'])} statements, {seen['begins']} transactions")
    for statement in seen["statements"]:
        print("   ", " ".join(statement.split())[:150])
    assert len(seen["statements"]) <= LIMIT
    assert seen["begins"] == 1


def test_dashboard_counts_certificates_only_when_not_cached_and_stays_within_the_limit(app, province):
    """The dashboard on a date not counted since the province's last change runs the counting query (one
    statement, labels included); the next view of that date is served its counts from the cache."""
    client, slug, _product_id, _tag = province
    client.get(f"/{slug}/?on=14/06/2024")  # warm the process on another date
    runs = []
    for _ in range(2):
        with counted(app) as seen:
            response = client.get(f"/{slug}/?on=15/06/2024")
        assert response.status_code == 200
        runs.append(seen)
    cold, warm = runs
    assert [sum("GROUPING SETS" in s for s in run["statements"]) for run in runs] == [1, 0]
    assert len(cold["statements"]) <= LIMIT
    assert len(warm["statements"]) == len(cold["statements"]) - 1
    assert cold["begins"] == warm["begins"] == 1

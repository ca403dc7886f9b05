"""Whole pages kept in Redis (app/auth/page_cache.py) under the province's page version (tenants/page_versions.py):
served again only to the same identity while nothing of the province changed, never across provinces,
sessions that ended or users that lost their right, and always with the session's own CSRF token."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import select, update

from app.auth import page_cache
from app.auth.models import User
from app.auth.page_cache import PAGE_TTL_SECONDS
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tenants.page_versions import is_write
from tests.conftest import create_user, csrf_token
from tests.factories import new_tenant, producer_with_product, signed_in
from tests.test_query_counts import counted

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture()
def province(app):
    tenant_id, slug = new_tenant(app)
    _producer_id, product_id = producer_with_product(app, tenant_id, name="Mật ong bạc hà", set_code="I.1.1")
    user_id, email = create_user(app, tenant_id, roles=("province_admin",))
    return tenant_id, slug, product_id, user_id, email


def _get(client, url, **kwargs):
    """(status, X-Page-Cache: "hit", "miss" or None, body)."""
    response = client.get(url, **kwargs)
    return response.status_code, response.headers.get("X-Page-Cache"), response.get_data(as_text=True)


def _kept(app, slug, email, url):
    """A client signed in whose page at `url` is now served from the cache."""
    client = signed_in(app, slug, email)
    _get(client, url)
    assert _get(client, url)[:2] == (200, "hit")
    return client


def _commit(app, tenant_id, statement):
    """A change as a job or a command makes it: the ORM in the province's scope, committed."""
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(statement)
        db.session.commit()


def _rename(app, tenant_id, product_id, name):
    _commit(app, tenant_id, update(Product).where(Product.id == product_id).values(name=name))


@pytest.mark.parametrize("page", ["/{slug}/", "/{slug}/products", "/{slug}/products/{product_id}"])
def test_a_page_seen_again_is_served_from_the_cache_without_the_database(app, province, page):
    _tenant_id, slug, product_id, _uid, email = province
    client = signed_in(app, slug, email)
    url = page.format(slug=slug, product_id=product_id)
    status, cache, first = _get(client, url)
    assert (status, cache) == (200, "miss")
    with counted(app) as seen:
        status, cache, again = _get(client, url)
    assert (status, cache) == (200, "hit")
    assert seen["statements"] == [] and seen["begins"] == 0
    assert TOKEN.sub("", again) == TOKEN.sub("", first)
    assert "Mật ong bạc hà" in again if "products" in url else True


def test_a_change_committed_in_the_province_renders_the_page_anew(app, province):
    tenant_id, slug, product_id, _uid, email = province
    client = signed_in(app, slug, email)
    url = f"/{slug}/products/{product_id}"
    assert _get(client, url)[:2] == (200, "miss")
    assert _get(client, url)[:2] == (200, "hit")
    _rename(app, tenant_id, product_id, "Mật ong hoa nhãn")
    status, cache, body = _get(client, url)
    assert (status, cache) == (200, "miss")
    assert "Mật ong hoa nhãn" in body and "Mật ong bạc hà" not in body


def test_a_change_made_through_the_app_shows_on_the_next_view(app, province):
    tenant_id, slug, product_id, _uid, email = province
    client = signed_in(app, slug, email)
    url = f"/{slug}/products/{product_id}"
    _get(client, url)
    assert _get(client, url)[1] == "hit"
    with app.app_context(), tenant_scope(tenant_id):
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        data = {"producer_id": str(product.producer_id), "product_set_id": str(product.product_set_id)}
    data |= {"csrf_token": csrf_token(client, f"{url}/edit"), "name": "Mật ong rừng U Minh", "trademark_status": "none"}
    assert client.post(f"{url}/edit", data=data).status_code == 302
    status, cache, body = _get(client, url)  # the save's message is waiting: rendered, not kept
    assert (status, cache) == (200, None) and "Mật ong rừng U Minh" in body
    assert _get(client, url)[:2] == (200, "miss")


def test_another_province_changing_keeps_this_one_cached_and_a_change_with_no_province_moves_all(app, province):
    _tenant_id, slug, product_id, _uid, email = province
    other_id, _other_slug = new_tenant(app)
    _other_producer, other_product = producer_with_product(app, other_id)
    client = signed_in(app, slug, email)
    url = f"/{slug}/products"
    _get(client, url)
    _rename(app, other_id, other_product, "Trà xanh")
    assert _get(client, url)[:2] == (200, "hit")
    new_tenant(app)  # the platform writes with no province current: every province's pages move
    assert _get(client, url)[:2] == (200, "miss")


def test_a_kept_page_is_never_served_to_another_province_or_identity(app, province):
    _tenant_id, slug, _product_id, _uid, email = province
    other_id, other_slug = new_tenant(app)
    _other_uid, other_email = create_user(app, other_id, roles=("province_admin",))
    client = signed_in(app, slug, email)
    assert _get(client, f"/{slug}/products")[:2] == (200, "miss")
    assert _get(client, f"/{slug}/products")[:2] == (200, "hit")
    # The same session at the other province's URL: signed in there as nobody.
    status, cache, _body = _get(client, f"/{other_slug}/products")
    assert status == 302 and cache is None
    other = signed_in(app, other_slug, other_email)
    status, cache, body = _get(other, f"/{other_slug}/products")
    assert (status, cache) == (200, "miss") and "Mật ong bạc hà" not in body
    # A colleague in the same province has their own copy (their name is in the header).
    _uid2, colleague_email = create_user(app, _tenant_id, roles=("province_admin",))
    colleague = signed_in(app, slug, colleague_email)
    assert _get(colleague, f"/{slug}/products")[:2] == (200, "miss")


def test_a_user_deactivated_or_signed_out_is_not_served_the_kept_page(app, province):
    tenant_id, slug, _product_id, user_id, email = province
    client = signed_in(app, slug, email)
    url = f"/{slug}/"
    _get(client, url)
    status, cache, body = _get(client, url)
    assert (status, cache) == (200, "hit")
    # Signing out with the token of the page served from the cache.
    token = TOKEN.search(body).group(1)
    assert client.post(f"/{slug}/logout", data={"csrf_token": token}).status_code == 302
    assert _get(client, url)[:2] == (302, None)

    client = _kept(app, slug, email, url)
    _commit(app, tenant_id, update(User).where(User.id == user_id).values(active=False))
    assert _get(client, url)[:2] == (302, None)


def test_each_session_gets_its_own_csrf_token_on_a_kept_page(app, province):
    _tenant_id, slug, _product_id, _uid, email = province
    first, second = signed_in(app, slug, email), signed_in(app, slug, email)
    url = f"/{slug}/"
    _get(first, url)
    status, cache, body = _get(second, url)
    assert (status, cache) == (200, "hit")
    token = TOKEN.search(body).group(1)
    assert token != TOKEN.search(_get(first, url)[2]).group(1)
    # The second session's token works in the second session (and not in the first).
    assert first.post(f"/{slug}/lang/en", data={"csrf_token": token, "next": url}).status_code == 400
    assert second.post(f"/{slug}/lang/en", data={"csrf_token": token, "next": url}).status_code == 302
    status, _cache, english = _get(second, url)  # another language: another page
    assert status == 200 and 'lang="en"' in english


def test_the_page_cache_can_be_turned_off(app, province, monkeypatch):
    _tenant_id, slug, _product_id, _uid, email = province
    monkeypatch.setitem(app.config, "PAGE_CACHE", False)
    client = signed_in(app, slug, email)
    assert [_get(client, f"/{slug}/")[1] for _ in range(2)] == [None, None]


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("SELECT 1", False),
        ("  select * from products", False),
        ("SELECT set_config('app.tenant_id', '1', true)", False),
        ("SELECT products.id FROM products WHERE products.name = 'a.b(c'", False),
        ("SELECT auth.account_login(%(email)s, %(candidate)s, %(role)s, %(at)s)", True),
        ("select national.refresh_rollups()", True),
        ("SAVEPOINT sa_savepoint_1", False),
        ("RELEASE SAVEPOINT sa_savepoint_1", False),
        ("WITH t AS (SELECT 1) SELECT updated_at FROM t", False),
        ("INSERT INTO products (name) VALUES ('x')", True),
        ("update products set name = 'x'", True),
        ("DELETE FROM documents", True),
        ("WITH moved AS (UPDATE products SET name = 'x' RETURNING id) SELECT count(*) FROM moved", True),
        ("COPY products FROM STDIN", True),
        ("TRUNCATE figures", True),
        ("ANALYZE products", True),
    ],
)
def test_what_counts_as_a_write(statement, writes):
    assert is_write(statement) is writes


def test_a_write_past_the_app_shows_once_the_provinces_pages_are_expired(app, province, database_urls):
    """psql or a restore writes where the engine's marks cannot see: the kept page stays (for PAGE_TTL_SECONDS at
    most) until `flask tenants expire-pages <slug>`; the command for one province leaves the others kept."""
    tenant_id, slug, product_id, _uid, email = province
    other_id, other_slug = new_tenant(app)
    _other_uid, other_email = create_user(app, other_id, roles=("province_admin",))
    client, other = signed_in(app, slug, email), signed_in(app, other_slug, other_email)
    url = f"/{slug}/products/{product_id}"
    _get(client, url), _get(other, f"/{other_slug}/")
    with psycopg.connect(database_urls["DATABASE_URL"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        conn.execute("UPDATE products SET name = 'Nước mắm Giao Châu' WHERE id = %s", [product_id])
    assert _get(client, url)[:2] == (200, "hit")
    redis = app.extensions["page_versions"]
    ttls = {redis.ttl(key) for key in redis.scan_iter(f"{app.config['RQ_QUEUE_PREFIX']}:page:*")}
    assert ttls and all(0 < ttl <= PAGE_TTL_SECONDS for ttl in ttls)
    result = app.test_cli_runner().invoke(args=["tenants", "expire-pages", slug])
    assert result.exit_code == 0, result.output
    status, cache, body = _get(client, url)
    assert (status, cache) == (200, "miss") and "Nước mắm Giao Châu" in body
    assert _get(other, f"/{other_slug}/")[:2] == (200, "hit")
    assert app.test_cli_runner().invoke(args=["tenants", "expire-pages", "khong-co"]).exit_code == 1


def test_one_identity_keeps_a_bounded_number_of_pages(app, province, monkeypatch):
    """Every query string is its own page: past the budget, pages are rendered and not kept."""
    _tenant_id, slug, _product_id, _uid, email = province
    monkeypatch.setattr(page_cache, "PAGES_PER_IDENTITY", 3)
    client = signed_in(app, slug, email)
    seen = [_get(client, f"/{slug}/products?q=m%E1%BA%ADt&n={n}")[:2] for n in range(5)]
    assert seen == [(200, "miss")] * 3 + [(200, None)] * 2
    assert _get(client, f"/{slug}/products?q=m%E1%BA%ADt&n=0")[:2] == (200, "hit")


def test_a_page_that_wrote_in_its_own_request_is_not_kept(app, province, monkeypatch):
    """Were a kept view to write (and not commit), what it rendered must not outlive its transaction."""
    tenant_id, slug, product_id, _uid, email = province
    from app.registry import services

    real = services.product_page_get

    def writing(user, pid):
        db.session.execute(update(Product).where(Product.id == pid).values(name="Chưa lưu"))
        return real(user, pid)

    monkeypatch.setattr(services, "product_page_get", writing)
    client = signed_in(app, slug, email)
    url = f"/{slug}/products/{product_id}"
    assert [_get(client, url)[:2] for _ in range(2)] == [(200, None), (200, None)]
    monkeypatch.setattr(services, "product_page_get", real)
    status, cache, body = _get(client, url)
    assert (status, cache) == (200, "miss") and "Chưa lưu" not in body and "Mật ong bạc hà" in body

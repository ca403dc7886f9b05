"""The national office's statistics: totals equal the sum of provinces, no tenant table reachable by the
national role, no private row on any national page, small cells suppressed."""

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, exc, text

from app.core import clock
from app.extensions import db
from app.national.jobs import rollups_refresh
from app.national.rollups import national_breakdown
from tenants.context import tenant_scope
from tests.conftest import create_account, login
from tests.factories import ProducerFactory, certificate_recorded, new_tenant, producer_with_product

TODAY = clock.today()
SECRET_PRODUCER = "HTX Bí Mật Quốc Gia Zeta"
SECRET_PRODUCT = "Trà Bí Mật Zeta"


@pytest.fixture(scope="module")
def national(app):
    """Two new provinces with known certificates, the roll-up refreshed, a signed-in national viewer."""
    tenant_a, slug_a = new_tenant(app)
    tenant_b, slug_b = new_tenant(app)
    for _ in range(4):
        producer_with_product(app, tenant_a, stars=3)
    producer_with_product(app, tenant_a, stars=4)
    with app.app_context(), tenant_scope(tenant_b):
        secret = ProducerFactory(name=SECRET_PRODUCER).id
        db.session.commit()
    _producer, product = producer_with_product(app, tenant_b, name=SECRET_PRODUCT, producer_id=secret)
    certificate_recorded(app, tenant_b, product, stars=5, decision_date=TODAY - timedelta(days=1080))  # expiring
    old = producer_with_product(app, tenant_b)[1]
    certificate_recorded(app, tenant_b, old, stars=3, decision_date=TODAY - timedelta(days=2000))  # expired
    with app.app_context():
        rollups_refresh()
    _aid, email = create_account(app, "national_viewer")
    client = app.test_client()
    assert login(client, "/national/login", email).status_code == 302
    return client, (tenant_a, slug_a), (tenant_b, slug_b), product


def test_national_totals_equal_the_sum_of_provinces_on_the_same_date(app, national):
    _client, (_ta, slug_a), (_tb, slug_b), _product = national
    for on in (TODAY, TODAY - timedelta(days=1500)):
        with app.app_context():
            data = national_breakdown(on)
            by_province = {slug: cell for slug, _name, cell in data.provinces}
            assert data.total.valid == sum(c.valid for c in by_province.values())
            assert data.total.ever == sum(c.ever for c in by_province.values())
            assert data.total.expiring == sum(c.expiring for c in by_province.values())
            for dimension in ("stars", "group", "kind"):
                assert sum(c.valid for _k, c in data.by[dimension]) == data.total.valid
    with app.app_context():
        data = national_breakdown(TODAY)
        by_province = {slug: cell for slug, _name, cell in data.provinces}
        assert (by_province[slug_a].valid, by_province[slug_a].ever, by_province[slug_a].expiring) == (5, 5, 0)
        assert (by_province[slug_b].valid, by_province[slug_b].ever, by_province[slug_b].expiring) == (1, 2, 1)
        a_only = national_breakdown(TODAY, slug=slug_a, stars=3)
        assert a_only.total.valid == 4 and [s for s, _n, _c in a_only.provinces] == [slug_a]


def test_statistics_page_filters_by_star_and_drills_down(app, national):
    client, (_ta, slug_a), (_tb, slug_b), _product = national
    page = client.get("/national/statistics?stars=4").get_data(as_text=True)
    assert 'data-testid="counting-rules"' in page and "<svg" in page
    assert f'data-slug="{slug_a}"' in page
    drill = client.get(f"/national/provinces/{slug_b}").get_data(as_text=True)
    assert 'data-testid="province-valid">1<' in drill
    assert client.get("/national/provinces/khong-co-tinh").status_code == 404
    for bad in ("stars=9", "stars=%00", "on=32/13/2020", "on==1+1", "stars=99999999999999999999"):
        response = client.get(f"/national/statistics?{bad}")
        assert response.status_code == 400, bad
    rows = list(
        load_workbook(BytesIO(client.get(f"/national/provinces/{slug_a}/export.xlsx").data)).active.iter_rows(
            values_only=True
        )
    )
    assert rows[1][2] == 5


def test_small_cells_are_suppressed(app, national):
    client, _a, (_tb, slug_b), _product = national
    page = client.get(f"/national/provinces/{slug_b}").get_data(as_text=True)
    # One 5★ product in the province: its star cell is "<3", never 1.
    assert '<td class="num">&lt;3</td>' in page


def test_national_pages_show_no_private_row(app, national):
    client, (_ta, slug_a), (_tb, slug_b), product = national
    bodies = [
        client.get(url).data
        for url in (
            "/national/",
            "/national/statistics",
            f"/national/provinces/{slug_b}",
            "/national/export.xlsx",
            "/national/statistics.xlsx",
            f"/national/provinces/{slug_b}/export.xlsx",
        )
    ]
    for body in bodies:
        text_ = body.decode("utf-8", "ignore")
        if body[:2] == b"PK":  # a workbook: read its cells
            text_ = " ".join(
                str(v) for row in load_workbook(BytesIO(body)).active.iter_rows(values_only=True) for v in row
            )
        assert SECRET_PRODUCER not in text_ and SECRET_PRODUCT not in text_
        assert f"/products/{product}" not in text_


def test_the_national_role_cannot_select_from_any_tenant_base_table(app):
    engine = create_engine(app.config["NATIONAL_DATABASE_URL"])
    with app.app_context():
        tables = (
            db.session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"))
            .scalars()
            .all()
        )
    assert {"certificates", "products", "producers", "entitlements", "targets", "users"} <= set(tables)
    try:
        for table in tables:
            with engine.connect() as conn, pytest.raises(exc.ProgrammingError, match="permission denied"):
                conn.execute(text(f'SELECT 1 FROM public."{table}" LIMIT 1'))
        with engine.connect() as conn:  # its views answer, and refreshing them is not its right
            assert conn.execute(text("SELECT count(*) FROM national.certificate_rollup")).scalar() >= 0
            with pytest.raises(exc.ProgrammingError, match="permission denied"):
                conn.execute(text("SELECT national.refresh_rollups()"))
    finally:
        engine.dispose()

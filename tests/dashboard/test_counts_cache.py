"""The dashboard's certificate counts come from a cache keyed by the province's data version, which
PostgreSQL moves at the commit of any change (ORM, set-wise SQL, another connection): the figures are
exact after every change, the counting query runs only when something changed, and one province's
change or cache never touches another's."""

from __future__ import annotations

import re
from datetime import date

import psycopg
import pytest
from sqlalchemy import func, select, text

from app.certification.counts import certificate_counts, certificate_counts_cached
from app.core.clock import today as clock_today
from app.dashboard.services import ShownTarget, dashboard_summary
from app.extensions import db
from tenants.models import TenantDataVersion
from tests.conftest import csrf_token
from tests.dashboard.conftest import add_certificate, add_product, tenant_scope, unit_id
from tests.test_query_counts import counted

ON = date(2025, 12, 31)


@pytest.fixture(autouse=True)
def _rendered(app, monkeypatch):
    """What is tested here is the counts' cache under the page: every view renders the page. (The whole-page
    cache above it, and writes made past the app such as the psycopg connections below: tests/test_page_cache.py.)"""
    monkeypatch.setitem(app.config, "PAGE_CACHE", False)


def _visit(app, client, slug: str, *, page: bool = False) -> dict:
    """The dashboard on ON: its two totals, its stars table, and whether the counting query ran."""
    with counted(app) as seen:
        response = client.get(f"/{slug}/?on={ON:%d/%m/%Y}")
    assert response.status_code == 200
    page_text = response.get_data(as_text=True)
    totals = [
        int(re.search(rf'data-testid="{testid}">([\d.]+)<', page_text).group(1).replace(".", ""))
        for testid in ("count-valid", "count-ever")
    ]
    stars_table = re.search(r'data-testid="counts-stars">(.*?)</table>', page_text, re.S).group(1)
    stars = {
        key: (int(valid), int(ever))
        for key, valid, ever in re.findall(
            r'<tr data-key="(\w+)">.*?<a href="[^"]+">([\d.]+)</a>.*?<a href="[^"]+">([\d.]+)</a>', stars_table, re.S
        )
    }
    counting = [s for s in seen["statements"] if "GROUPING SETS" in s]
    assert len(counting) <= 1
    seen_page = {"page": page_text} if page else {}
    return {"totals": tuple(totals), "stars": stars, "counted": len(counting) == 1, **seen_page}


def _direct(app, tenant_id: int) -> tuple[tuple[int, int], dict]:
    with app.app_context(), tenant_scope(tenant_id):
        counts = certificate_counts(ON)
        return (counts.valid, counts.ever), {row.key: (row.valid, row.ever) for row in counts.by["stars"]}


def _version(app, tenant_id: int):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(
            select(TenantDataVersion.version).where(
                TenantDataVersion.tenant_id == tenant_id, TenantDataVersion.scope == "counts"
            )
        )


def _province(app, fresh_province, base: str, certified: list[tuple[str, int, date]]) -> tuple[str, int, list[int]]:
    slug, tenant_id = fresh_province(base)
    unit = {"nam-dinh": "Xã Mỹ Hà", "ha-tinh": "Xã Can Lộc"}[base]
    products = []
    with app.app_context(), tenant_scope(tenant_id):
        for name, stars, decided in certified:
            product = add_product(name, unit=unit_id(unit))
            add_certificate(product, stars, decided)
            products.append(product.id)
        db.session.commit()
    return slug, tenant_id, products


def test_figures_follow_every_change_and_are_counted_only_after_one(app, fresh_province, sign_in, database_urls):
    slug, tenant_id, products = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])
    client = sign_in(slug, tenant_id)

    first = _visit(app, client, slug)
    assert first == {"totals": (1, 1), "stars": {"3": (1, 1)}, "counted": True}
    again = _visit(app, client, slug)
    assert again == {"totals": (1, 1), "stars": {"3": (1, 1)}, "counted": False}  # from the cache

    # The ORM: a new certified product.
    with app.app_context(), tenant_scope(tenant_id):
        add_certificate(add_product("Nem Hải Hậu", unit=unit_id("Xã Mỹ Hà")), 4, date(2025, 3, 1))
        db.session.commit()
    after_orm = _visit(app, client, slug)
    assert after_orm == {"totals": (2, 2), "stars": {"3": (1, 1), "4": (1, 1)}, "counted": True}
    assert (after_orm["totals"], after_orm["stars"]) == _direct(app, tenant_id)
    assert _visit(app, client, slug)["counted"] is False

    # A set-wise statement outside the ORM's unit of work.
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(text("UPDATE certificates SET stars = 5 WHERE product_id = :id"), {"id": products[0]})
        db.session.commit()
    after_sql = _visit(app, client, slug)
    assert after_sql == {"totals": (2, 2), "stars": {"4": (1, 1), "5": (1, 1)}, "counted": True}
    assert (after_sql["totals"], after_sql["stars"]) == _direct(app, tenant_id)

    # Another connection (as an import batch or the generator writes), as the web role, under RLS.
    with psycopg.connect(database_urls["DATABASE_URL"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        conn.execute("UPDATE certificates SET stars = 3 WHERE product_id = %s", [products[0]])
    after_other = _visit(app, client, slug)
    assert after_other == {"totals": (2, 2), "stars": {"3": (1, 1), "4": (1, 1)}, "counted": True}

    # A change rolled back changes nothing: the version stays, the cache still serves.
    version = _version(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(text("DELETE FROM certificates WHERE product_id = :id"), {"id": products[0]})
        db.session.rollback()
    assert _version(app, tenant_id) == version
    assert _visit(app, client, slug) == {**after_other, "counted": False}
    # Each commit removed the notes before its own: one row per scope left of the transactions that changed data.
    with app.app_context(), tenant_scope(tenant_id):
        notes = db.session.execute(text("SELECT scope, count(*) FROM tenant_changes GROUP BY scope ORDER BY scope"))
        assert notes.all() == [("counts", 1), ("summary", 1)]  # summary: the users the test signed in


def test_one_provinces_change_and_cache_never_touch_another(app, fresh_province, sign_in):
    slug_a, tenant_a, _ = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])
    slug_b, tenant_b, _ = _province(
        app, fresh_province, "ha-tinh", [("Cam 1", 4, date(2025, 1, 10)), ("Cam 2", 4, date(2025, 1, 10))]
    )
    client_a, client_b = sign_in(slug_a, tenant_a), sign_in(slug_b, tenant_b)
    assert _visit(app, client_a, slug_a) == {"totals": (1, 1), "stars": {"3": (1, 1)}, "counted": True}
    assert _visit(app, client_b, slug_b) == {"totals": (2, 2), "stars": {"4": (2, 2)}, "counted": True}
    version_b = _version(app, tenant_b)

    with app.app_context(), tenant_scope(tenant_a):
        add_certificate(add_product("Nem Hải Hậu", unit=unit_id("Xã Mỹ Hà")), 5, date(2025, 3, 1))
        db.session.commit()
    # B's version and cache are untouched; A counts afresh.
    assert _version(app, tenant_b) == version_b
    assert _visit(app, client_b, slug_b) == {"totals": (2, 2), "stars": {"4": (2, 2)}, "counted": False}
    assert _visit(app, client_a, slug_a) == {"totals": (2, 2), "stars": {"3": (1, 1), "5": (1, 1)}, "counted": True}

    # Even given B's very version, A is never served B's cached figures: the key holds the province.
    with app.app_context(), tenant_scope(tenant_a):
        counts = certificate_counts_cached(ON, str(version_b))
        assert (counts.valid, counts.ever) == (2, 2)
        assert {row.key: (row.valid, row.ever) for row in counts.by["stars"]} == {"3": (1, 1), "5": (1, 1)}
    # ...and B still reads its own.
    with app.app_context(), tenant_scope(tenant_b):
        counts = certificate_counts_cached(ON, str(version_b))
        assert (counts.valid, counts.ever) == (2, 2)
        assert {row.key for row in counts.by["stars"]} == {"4"}


def test_a_transactions_own_uncommitted_change_is_never_cached(app, fresh_province):
    _slug, tenant_id, _ = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])
    before = _version(app, tenant_id)
    assert before is not None
    with app.app_context(), tenant_scope(tenant_id):
        assert dashboard_summary(ON).data_version == str(before)
        add_certificate(add_product("Nem Hải Hậu", unit=unit_id("Xã Mỹ Hà")), 4, date(2025, 3, 1))
        db.session.flush()
        # Counted now, the figures would hold this uncommitted certificate: no version, nothing cached.
        assert dashboard_summary(ON).data_version is None
        db.session.rollback()
        assert dashboard_summary(ON).data_version == str(before)
    assert _version(app, tenant_id) == before


def test_the_cached_section_is_per_language_and_follows_changes(app, fresh_province, sign_in):
    """The section is cached as rendered: each language gets its own labels, and a change renders it anew in both."""
    slug, tenant_id, _ = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])
    vi, en = sign_in(slug, tenant_id), sign_in(slug, tenant_id)
    assert (
        en.post(f"/{slug}/lang/en", data={"csrf_token": csrf_token(en, f"/{slug}/account"), "next": "/"}).status_code
        == 302
    )

    def seen(client) -> tuple[str, str, bool]:
        visit = _visit(app, client, slug, page=True)
        label = re.search(r'<tr data-key="3"><td>([^<]+)</td>', visit["page"]).group(1)
        heading = re.search(r"<thead><tr><th>([^<]+)</th>", visit["page"]).group(1)
        return label, heading, visit["counted"]

    assert seen(vi) == ("3 sao", "Hạng sao", True)
    assert seen(vi) == ("3 sao", "Hạng sao", False)
    english = seen(en)
    assert english[0] == "3 stars" and english[1] != "Hạng sao" and english[2] is False  # the same counts, in English
    assert seen(vi) == ("3 sao", "Hạng sao", False)
    with app.app_context(), tenant_scope(tenant_id):
        add_certificate(add_product("Nem Hải Hậu", unit=unit_id("Xã Mỹ Hà")), 3, date(2025, 3, 1))
        db.session.commit()
    assert _visit(app, en, slug) == {"totals": (2, 2), "stars": {"3": (2, 2)}, "counted": True}
    assert _visit(app, vi, slug) == {"totals": (2, 2), "stars": {"3": (2, 2)}, "counted": False}


def test_the_summary_statement_shows_the_latest_figures_and_the_next_targets(app, fresh_province, sign_in):
    """Figures and targets come in the summary's one statement: the same rows, order, values and dates as
    read through the ORM, and nothing of another province."""
    from decimal import Decimal

    from app.planning.models import Figure, Target

    slug, tenant_id = fresh_province("bac-kan")
    other_slug, other_id = fresh_province("ha-tinh")
    on = date(2019, 1, 1)
    with app.app_context(), tenant_scope(tenant_id):
        latest = db.session.scalar(select(func.max(Figure.on)))
        figures = db.session.scalars(select(Figure).where(Figure.on == latest).order_by(Figure.metric)).all()
        expected_figures = [(f.on, f.metric, f.value, f.note, f.source) for f in figures]
        targets = db.session.scalars(
            select(Target).where(Target.deadline >= on).order_by(Target.deadline, Target.code).limit(8)
        ).all()
        expected_targets = [(t.deadline, t.title) for t in targets]
        summary = dashboard_summary(on)
    assert len(expected_figures) >= 2 and len(expected_targets) == 8
    assert [(f.on, f.metric, f.value, f.note, f.source) for f in summary.latest_figures] == expected_figures
    assert all(isinstance(f.value, Decimal) for f in summary.latest_figures)
    assert [(t.deadline, t.title) for t in summary.next_targets] == expected_targets
    with app.app_context(), tenant_scope(other_id):
        other_titles = {t.title for t in dashboard_summary(on).next_targets}
    assert other_titles and not other_titles & {title for _d, title in expected_targets}
    page = sign_in(slug, tenant_id).get(f"/{slug}/").get_data(as_text=True)
    assert f"Ngày số liệu: {latest:%d/%m/%Y}" in page
    with app.app_context(), tenant_scope(tenant_id):
        shown_today = dashboard_summary(clock_today()).next_targets
    for target in shown_today:
        assert f"<strong>{target.deadline:%d/%m/%Y}</strong> — {target.title}" in page
    assert ("Không có mục tiêu còn hạn." in page) == (not shown_today)


def test_producer_and_product_counts_are_cached_under_the_version_and_follow_changes(app, fresh_province):
    _slug, tenant_id, _ = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])

    def summary() -> tuple[int, int, int]:
        with counted(app) as seen, app.app_context(), tenant_scope(tenant_id):
            shown = dashboard_summary(ON)
        return shown.producers, shown.products, len(seen["statements"])

    cold = summary()
    assert cold[:2] == (1, 1)
    assert summary() == (1, 1, cold[2] - 1)  # the counts from the cache: one statement less
    with app.app_context(), tenant_scope(tenant_id):
        product_id = add_product("Nem Hải Hậu").id
        db.session.commit()
    assert summary() == (2, 2, cold[2])
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(text("DELETE FROM products WHERE id = :id"), {"id": product_id})
        db.session.commit()
    assert summary() == (2, 1, cold[2])
    assert summary() == (2, 1, cold[2] - 1)


def test_without_redis_the_dashboard_counts_every_time_and_shows_the_same(app, fresh_province, sign_in, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    import app.certification.counts as counts_module
    import app.dashboard.services as services_module
    import app.dashboard.views as views_module

    slug, tenant_id, _ = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])
    client = sign_in(slug, tenant_id)
    assert _visit(app, client, slug) == {"totals": (1, 1), "stars": {"3": (1, 1)}, "counted": True}

    class Down:
        def get(self, *args, **kwargs):
            raise RedisConnectionError("down")

        set = get

    for module in (counts_module, services_module, views_module):
        monkeypatch.setattr(module, "redis_connection", lambda: Down())
    for _ in range(2):
        assert _visit(app, client, slug) == {"totals": (1, 1), "stars": {"3": (1, 1)}, "counted": True}


def test_the_summary_is_cached_and_follows_changes_of_what_it_shows(app, fresh_province):
    """The summary moves with its own tables (a target, a user), not only with the counted ones."""
    from app.auth.models import User
    from tests.factories import TargetFactory, user_of_role

    _slug, tenant_id, _ = _province(app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1))])
    user_id, _email = user_of_role(app, tenant_id, "province_officer")
    today = date(2026, 1, 5)

    def summary():
        with counted(app) as seen, app.app_context(), tenant_scope(tenant_id):
            shown = dashboard_summary(today)
        return shown, len(seen["statements"])

    first, cold = summary()
    again, warm = summary()
    assert warm == cold - 1 and again == first  # from the cache: no summary statement
    with app.app_context(), tenant_scope(tenant_id):
        TargetFactory(code="dash-test", title="Mục tiêu thử của bảng điều khiển", value=1, deadline=date(2026, 1, 6))
        db.session.commit()
    after_target, statements = summary()
    assert statements == cold
    assert after_target.targets_open == first.targets_open + 1
    assert after_target.next_targets[0] == ShownTarget(date(2026, 1, 6), "Mục tiêu thử của bảng điều khiển")
    with app.app_context(), tenant_scope(tenant_id):
        db.session.get(User, (tenant_id, user_id)).active = False
        db.session.commit()
    after_user, statements = summary()
    assert statements == cold and after_user.active_users == first.active_users - 1
    assert summary() == (after_user, warm)


def test_changes_committed_out_of_order_are_never_missed(app, fresh_province, sign_in, database_urls):
    """Two writers on other connections: the later one commits first, the dashboard is viewed (and cached)
    between the commits, then the earlier one commits. Its change is shown: the version moves at each
    commit, in commit order, not when the change was made."""
    slug, tenant_id, products = _province(
        app, fresh_province, "nam-dinh", [("Gạo tám", 3, date(2024, 2, 1)), ("Nem Hải Hậu", 3, date(2024, 2, 1))]
    )
    client = sign_in(slug, tenant_id)
    assert _visit(app, client, slug)["stars"] == {"3": (2, 2)}

    def writer():
        conn = psycopg.connect(database_urls["DATABASE_URL"])
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        return conn

    first, second = writer(), writer()
    try:
        first.execute("UPDATE certificates SET stars = 4 WHERE product_id = %s", [products[0]])
        second.execute("UPDATE certificates SET stars = 5 WHERE product_id = %s", [products[1]])
        # Uncommitted: nothing shows, and the cache still serves.
        assert _visit(app, client, slug) == {"totals": (2, 2), "stars": {"3": (2, 2)}, "counted": False}
        second.commit()
        assert _visit(app, client, slug) == {"totals": (2, 2), "stars": {"3": (1, 1), "5": (1, 1)}, "counted": True}
        assert _visit(app, client, slug)["counted"] is False
        first.commit()
        assert _visit(app, client, slug) == {"totals": (2, 2), "stars": {"4": (1, 1), "5": (1, 1)}, "counted": True}
    finally:
        first.close()
        second.close()

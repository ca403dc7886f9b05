"""Every list of a province pages its rows: the size is capped, the total shown, filters kept in the links.

Every GET page of a province without an id in its URL is classified here: a list (paged through
app/core/pagination.py) or a page that is no list (with the reason), so a new list cannot slip in unpaged.
"""

from __future__ import annotations

import re

import pytest

from app.core import pagination
from tests.conftest import create_user, open_cycle_around_today
from tests.factories import bulk_products, new_tenant, signed_in

LISTS = {
    "registry.producers",
    "registry.products",
    "cycle.applications",
    "certification.certificates",
    "dashboard.counted",
    "audit.index",
    "users.index",
    "evaluation.rounds",
    "evaluation.results",
    "progress.rewards",
    "inspections.index",
}
NOT_LISTS = {
    "dashboard.home": "figures (one aggregate query), each linking to its paged list",
    "dashboard.breakdown": "one breakdown of those figures: a row per value (≤ the province's communes), each linking "
    "to its paged list",
    "auth.login": "a form",
    "auth.account": "the signed-in user's own page",
    "exchange.start": "the import form and its latest imports (limited in its service)",
    "portal.home": "a producer's own products and applications",
    "cycle.cycles": "one cycle a year",
    "planning.councils": "the province's few councils",
    "planning.policies": "the province's policies (tens)",
    "planning.targets": "the province's targets (tens)",
    "planning.units": "the province's communes (≤ a few hundred, its reference data)",
    "evaluation.criteria": "the criteria templates (a handful per act)",
    "inspection.policy": "the province's one inspection policy",
    "inspection.policy_edit": "a form",
    "inspections.queue": "the signed-in inspector's own assigned inspections",
    "inspections.month_calendar": "one month's inspections",
    "inspections.overdue": "a worklist of what is overdue today (not paged yet: see the session note)",
    "inspections.expiring": "certificates ending within 30/60/90 days (not paged yet: see the session note)",
    "notices.inbox": "pages itself, a fixed page size (app/notices/services.py inbox_page)",
    "notices.outbox": "pages itself, a fixed page size (app/notices/services.py outbox_page)",
    "tenant_jobs.index": "pages itself over RQ's registries (jobs/registry.py)",
    "progress.indicators": "figures and charts, each linking to its paged list",
    "progress.report": "a report (Excel or PDF) for a chosen period",
}
FILE_SUFFIXES = (".xlsx", ".pdf", ".xlsx>", ".pdf>")


def _tenant_pages(app) -> set[str]:
    pages = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/<tenant_slug>/") or "GET" not in rule.methods:
            continue
        if set(rule.arguments) != {"tenant_slug"} or rule.rule.endswith(FILE_SUFFIXES) or "kind" in rule.arguments:
            continue
        if rule.endpoint.endswith(("_new", ".create", ".council_new", ".application_new")):
            continue  # forms to create a record
        pages.add(rule.endpoint)
    return pages


def test_every_province_page_is_classified_list_or_not(app):
    unclassified = _tenant_pages(app) - LISTS - set(NOT_LISTS)
    assert unclassified == set(), "a new page: page it (app/core/pagination.py) or say here why it is no list"


@pytest.fixture(scope="module")
def admin_client(app):
    tenant_id, slug = new_tenant(app)
    bulk_products(app, tenant_id, producers=205, per_producer=1)
    open_cycle_around_today(app, tenant_id)  # the applications list pages this year's cycle
    _uid, email = create_user(app, tenant_id, roles=("province_admin",))
    return signed_in(app, slug, email), slug


@pytest.mark.parametrize("endpoint", sorted(LISTS))
def test_every_list_pages_and_caps_its_size(app, admin_client, endpoint, monkeypatch):
    """Asked for 100,000 rows a page, each list builds one page of at most MAX_PER_PAGE."""
    pages = []
    real = pagination.Page

    def spy(*args):
        pages.append(real(*args))
        return pages[-1]

    monkeypatch.setattr(pagination, "Page", spy)
    client, slug = admin_client
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, tenant_slug=slug, per_page=100_000)
    response = client.get(url)
    assert response.status_code == 200, url
    assert len(pages) == 1
    assert pages[0].per_page == pagination.MAX_PER_PAGE


def _rows(html: str) -> int:
    return len(re.findall(r'<a href="/[^/]+/products/\d+">', html))


def test_products_page_by_page_with_the_total_and_the_filters_kept(admin_client):
    client, slug = admin_client
    first = client.get(f"/{slug}/products?q=vai+thieu&per_page=1000").get_data(as_text=True)
    assert _rows(first) == 200
    assert "1–200 trên 205" in first
    assert "Trang 1 / 2" in first
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    # A keyset list: the next page is the rows after the last one shown (a cursor), not page=2.
    assert "q=vai+thieu" in next_link and "per_page=1000" in next_link and "after=" in next_link
    assert "page=" not in next_link.replace("per_page=", "")
    second = client.get(next_link).get_data(as_text=True)
    assert _rows(second) == 5
    assert "201–205 trên 205" in second
    assert "Trang 2 / 2" in second
    # A ?page=N link people already have still answers the same page.
    by_number = client.get(f"/{slug}/products?q=vai+thieu&per_page=1000&page=2").get_data(as_text=True)
    assert _rows(by_number) == 5 and "201–205 trên 205" in by_number
    assert re.findall(r'<a href="/[^/]+/products/\d+">', by_number) == re.findall(
        r'<a href="/[^/]+/products/\d+">', second
    )
    # Past the end: the last page; nonsense: the first.
    assert "Trang 2 / 2" in client.get(f"/{slug}/products?page=999999&per_page=200").get_data(as_text=True)
    odd = client.get(f"/{slug}/products?page=-1&per_page=abc").get_data(as_text=True)
    assert _rows(odd) == pagination.PER_PAGE
    assert "Trang 1 / 5" in odd


def test_producers_list_shows_the_total_of_all_pages(admin_client):
    client, slug = admin_client
    html = client.get(f"/{slug}/producers").get_data(as_text=True)
    assert "205 chủ thể" in html
    assert "1–50 trên 205" in html

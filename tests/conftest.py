"""Test fixtures on real services: PostgreSQL (as the app role, RLS active), Redis and SeaweedFS.

Services come from the environment when set, else the machine's local PostgreSQL/Redis, else
embedded ones started under var/test (see infra/stack.py). The database `ocop_test` is recreated
and migrated once per run; the four province files are synced, so there are always several tenants.
"""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis as redis_lib

ROOT = Path(__file__).resolve().parent.parent
TEST_DB = os.environ.get("OCOP_TEST_DB", "ocop_test")
# A Redis database of its own, flushed at the start of the run (several checkouts can test at once
# with OCOP_TEST_DB and OCOP_TEST_REDIS_DB set apart).
TEST_REDIS_DB = int(os.environ.get("OCOP_TEST_REDIS_DB", "15"))
PASSWORD = "Ocop-Test-2026"


# Lines a test wants shown at the end of the run (e.g. how many checks the cross-tenant matrix made).
SUMMARY_LINES = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


def _redis_url_for_tests(url: str) -> str:
    base = re.sub(r"/\d+$", "", url)
    return f"{base}/{TEST_REDIS_DB}"


@pytest.fixture(scope="session")
def services():
    from infra import stack

    env = stack.up(ROOT / "var" / "test", prefer_local=True)
    env["REDIS_URL"] = _redis_url_for_tests(env["REDIS_URL"])
    redis_lib.Redis.from_url(env["REDIS_URL"]).flushdb()
    return env


@pytest.fixture(scope="session")
def database_urls(services):
    from infra.database import bootstrap

    return bootstrap(services["ADMIN_DATABASE_URL"], TEST_DB, recreate=True)


@pytest.fixture(scope="session")
def app_env(services, database_urls):
    env = {**services, **database_urls}
    for key in (
        "S3_ENDPOINT_URL",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        "S3_REGION",
        "S3_BUCKET",
        "REDIS_URL",
        "DATABASE_URL",
        "NATIONAL_DATABASE_URL",
        "MIGRATION_DATABASE_URL",
    ):
        os.environ[key] = env[key]
    os.environ["OCOP_ENV"] = "test"
    return env


def make_app(app_env, **overrides):
    """Another app on the same services (as a second web process would be).

    Flask-Limiter and Talisman are process-wide singletons bound by the last init_app, so overrides
    must not point them elsewhere (no other REDIS_URL here: patch app.config in the test instead).
    """
    assert "REDIS_URL" not in overrides
    from app.config import TestConfig, sqlalchemy_url
    from app.factory import create_app

    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=sqlalchemy_url(app_env["DATABASE_URL"]),
        NATIONAL_DATABASE_URL=sqlalchemy_url(app_env["NATIONAL_DATABASE_URL"]),
        REDIS_URL=app_env["REDIS_URL"],
        S3_ENDPOINT_URL=app_env["S3_ENDPOINT_URL"],
        S3_ACCESS_KEY_ID=app_env["S3_ACCESS_KEY_ID"],
        S3_SECRET_ACCESS_KEY=app_env["S3_SECRET_ACCESS_KEY"],
        S3_REGION=app_env["S3_REGION"],
        S3_BUCKET=app_env["S3_BUCKET"],
        SERVER_NAME=None,
    )
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(app_env):
    from flask_migrate import upgrade

    application = make_app(app_env)
    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        from tenants.context import Actor, acting_as
        from tenants.sync import sync_all

        with acting_as(Actor("system", None, "test setup")):
            errors = [report.error for report in sync_all() if report.error]  # sync_all goes on past a bad file
        assert errors == []
    return application


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def tenants(app):
    """slug -> id of the synced provinces."""
    from sqlalchemy import select

    from app.extensions import db
    from tenants.models import Tenant

    with app.app_context():
        return {t.slug: t.id for t in db.session.scalars(select(Tenant))}


@pytest.fixture()
def fresh_tenant(app):
    """A new province of this test alone, (tenant_id, slug): for tests that count what is in a tenant."""
    from tests.factories import new_tenant

    return new_tenant(app)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.vn"


def create_user(app, tenant_id: int, *, roles=("province_officer",), **kwargs):
    """A user of the tenant with a password set (as an invited user who accepted): (user_id, email)."""
    from tests.factories import user_of_role

    return user_of_role(app, tenant_id, *roles, **kwargs)


def create_account(app, role: str, *, password=PASSWORD):
    from app.auth import services as auth
    from app.extensions import db

    with app.app_context():
        account = auth.account_create(email=unique_email(role), full_name="Tài khoản thử", role=role, password=password)
        db.session.commit()
        return account.id, account.email


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    response = client.get(url)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1) or match.group(2)


def login(client, login_url: str, email: str, password: str = PASSWORD):
    token = csrf_token(client, login_url)
    return client.post(login_url, data={"csrf_token": token, "email": email, "password": password})


@pytest.fixture()
def officer_login(app, tenants):
    """Sign a fresh client in as a new officer of the province: returns (client, user_id, email)."""

    def _login(slug: str, roles=("province_officer",)):
        user_id, email = create_user(app, tenants[slug], roles=roles)
        client = app.test_client()
        response = login(client, f"/{slug}/login", email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client, user_id, email

    return _login


def open_cycle_around_today(app, tenant_id: int, days: int = 10):
    """This year's cycle of the tenant with every window open around today; returns its id."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.core import clock
    from app.cycle.models import Cycle
    from app.cycle.services import cycle_keep_open, cycle_open
    from app.extensions import db
    from tenants.context import tenant_scope

    today = clock.today()
    with app.app_context(), tenant_scope(tenant_id):
        cycle = db.session.scalar(select(Cycle).where(Cycle.year == today.year)) or cycle_open(today.year)
        cycle_keep_open(cycle, today - timedelta(days=days), today + timedelta(days=days))
        db.session.commit()
        return cycle.id


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download), one per test run.

    Without Chromium the browser tests are skipped on a developer's machine, but fail under CI (CI set,
    as .ci/run does): a CI run that silently skips them would prove nothing.
    """
    import shutil

    if not shutil.which(CHROMIUM):
        message = f"Debian's chromium is not installed at {CHROMIUM} (make e2e-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


# Statuses a page the browser opens may answer (redirects are followed by the browser).
PAGE_STATUSES = {200, 201, 301, 302, 303}


@contextmanager
def checked_page(browser, **context_options):
    """A page of a new browser context whose every main-frame navigation (goto, link, form) is recorded;
    on leaving, each must have answered a page status (no 4xx/5xx shown to the user unnoticed)."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    answered = []

    def record(response):
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            answered.append((response.status, response.url))

    page.on("response", record)
    try:
        yield page
    finally:
        context.close()
    assert answered, "the page opened nothing"
    bad = [(status, url) for status, url in answered if status not in PAGE_STATUSES]
    assert not bad, f"pages answered an error status: {bad}"


@pytest.fixture()
def sign_in(app):
    """A signed-in client in a province given by (slug, tenant id): a new user of the roles (an officer)."""
    from tests.factories import signed_in, user_of_role

    def _sign_in(slug: str, tenant_id: int, roles=("province_officer",)):
        _uid, email = user_of_role(app, tenant_id, *roles)
        return signed_in(app, slug, email)

    return _sign_in

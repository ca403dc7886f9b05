"""Benchmarks share the test fixtures (real services); run with `make bench`."""

import pytest  # noqa: E402

from tests.conftest import *  # noqa: F401,F403


@pytest.fixture()
def sign_in_any(app):
    """A signed-in province officer's client in a province given by (slug, tenant id)."""
    from tests.conftest import create_user, login

    def _sign_in(slug: str, tenant_id: int, roles=("province_officer",)):
        _uid, email = create_user(app, tenant_id, roles=roles)
        client = app.test_client()
        assert login(client, f"/{slug}/login", email).status_code == 302
        return client

    return _sign_in

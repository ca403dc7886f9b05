"""Two officers acting on one application at the same moment, on two real PostgreSQL connections:
exactly one transition and one history event; the other gets "changed by someone else"."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core import clock
from app.cycle import services
from app.cycle.models import Application, ApplicationEvent
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import create_user, csrf_token, open_cycle_around_today
from tests.factories import producer_with_product
from tests.race import at_once

CHANGED = "Hồ sơ đã được người khác thay đổi, vui lòng tải lại trang."


@pytest.fixture()
def screened(app, tenants):
    """An application of Bắc Giang at 'screened' (no history yet) and two province officers."""
    tenant_id = tenants["bac-giang"]
    cycle_id = open_cycle_around_today(app, tenant_id)
    _producer_id, product_id = producer_with_product(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        application = Application(
            cycle_id=cycle_id, product_id=product_id, kind="new", status="screened", screening_level="commune"
        )
        db.session.add(application)
        db.session.commit()
        application_id = application.id
    officers = [create_user(app, tenant_id, roles=("province_officer",)) for _ in range(2)]
    return tenant_id, application_id, officers


def _race(app, tenant_id, application_id, attempts):
    """Each attempt (user_id, action, expected_status) acts on the application as its page showed it
    (tests/race.py)."""

    def read(attempt):
        user = db.session.scalar(select(User).where(User.id == attempt[0]))
        application = db.session.scalar(select(Application).where(Application.id == application_id))
        assert application.status == "screened"
        return user, application

    def act(attempt, shown):
        _user_id, action, expected = attempt
        user, application = shown
        services.application_act(
            application,
            action,
            user=user,
            today=clock.today(),
            reason="Thiếu phiếu kiểm nghiệm",
            expected_status=expected,
        )
        return ("done", action)

    return at_once(app, tenant_id, attempts, read, act, services.WorkflowError)


def _history(app, tenant_id, application_id):
    with app.app_context(), tenant_scope(tenant_id):
        status = db.session.scalar(select(Application.status).where(Application.id == application_id))
        events = db.session.execute(
            select(ApplicationEvent.action, ApplicationEvent.from_status, ApplicationEvent.to_status).where(
                ApplicationEvent.application_id == application_id
            )
        ).all()
        return status, [tuple(e) for e in events]


def test_return_against_forward_gives_one_transition_and_a_clear_message(app, screened):
    tenant_id, application_id, ((first, _e1), (second, _e2)) = screened
    results = _race(
        app,
        tenant_id,
        application_id,
        [(first, "forward_to_council", "screened"), (second, "return_dossier", "screened")],
    )
    done = [r for r in results if r[0] == "done"]
    lost = [r for r in results if r[0] != "done"]
    assert len(done) == 1 and lost == [("ChangedMeanwhile", CHANGED)], results
    winner = done[0][1]
    target = {"forward_to_council": "ready_for_council", "return_dossier": "dossier_returned"}[winner]
    status, events = _history(app, tenant_id, application_id)
    assert status == target
    assert events == [(winner, "screened", target)]


def test_a_double_click_of_forward_moves_the_application_once(app, screened):
    tenant_id, application_id, ((first, _e1), _second) = screened
    results = _race(
        app,
        tenant_id,
        application_id,
        [(first, "forward_to_council", "screened"), (first, "forward_to_council", "screened")],
    )
    assert sorted(results) == [("ChangedMeanwhile", CHANGED), ("done", "forward_to_council")]
    assert _history(app, tenant_id, application_id) == (
        "ready_for_council",
        [("forward_to_council", "screened", "ready_for_council")],
    )


def test_without_the_expected_status_the_lock_alone_still_allows_one_transition(app, screened):
    """A client that sends no expected status (an old page): the loser re-reads the row after the lock
    and finds the action no longer applies."""
    tenant_id, application_id, ((first, _e1), (second, _e2)) = screened
    results = _race(
        app, tenant_id, application_id, [(first, "forward_to_council", None), (second, "forward_to_council", None)]
    )
    assert sorted(r[0] for r in results) == ["WorkflowError", "done"]
    assert _history(app, tenant_id, application_id)[1] == [("forward_to_council", "screened", "ready_for_council")]


def test_the_loser_over_http_gets_the_message_and_a_redirect(app, screened, officer_login):
    tenant_id, application_id, _officers = screened
    url = f"/bac-giang/applications/{application_id}"
    clients = [officer_login("bac-giang")[0] for _ in range(2)]
    pages = [c.get(url).get_data(as_text=True) for c in clients]
    for page in pages:  # both pages show the status they were rendered with
        assert 'name="expected_status" type="hidden" value="screened"' in page
    tokens = [csrf_token(c, url) for c in clients]
    forward = clients[0].post(
        f"{url}/act/forward_to_council", data={"csrf_token": tokens[0], "expected_status": "screened"}
    )
    assert forward.status_code == 302
    returned = clients[1].post(
        f"{url}/act/return_dossier",
        data={"csrf_token": tokens[1], "expected_status": "screened", "reason": "Thiếu tem nhãn"},
    )
    assert returned.status_code == 302 and returned.headers["Location"].endswith(url)
    page = clients[1].get(url).get_data(as_text=True)
    assert CHANGED in page
    status, events = _history(app, tenant_id, application_id)
    assert status == "ready_for_council" and len(events) == 1
    # The same in English.
    english = clients[1].post("/bac-giang/lang/en", data={"csrf_token": tokens[1], "next": url})
    assert english.status_code == 302
    clients[1].post(
        f"{url}/act/return_dossier",
        data={"csrf_token": tokens[1], "expected_status": "screened", "reason": "Missing label"},
    )
    assert "This record was changed by someone else, please reload the page." in clients[1].get(url).get_data(
        as_text=True
    )
    assert len(_history(app, tenant_id, application_id)[1]) == 1


def test_garbage_expected_status_is_a_message_not_a_500(app, screened, officer_login):
    tenant_id, application_id, _officers = screened
    client = officer_login("bac-giang")[0]
    url = f"/bac-giang/applications/{application_id}"
    token = csrf_token(client, url)
    for garbage in ("scr\x00eened", "=1+1", "9" * 30):
        response = client.post(f"{url}/act/forward_to_council", data={"csrf_token": token, "expected_status": garbage})
        assert response.status_code == 302
        assert CHANGED in client.get(url).get_data(as_text=True)
    assert _history(app, tenant_id, application_id) == ("screened", [])


def test_two_registrations_of_one_product_at_once_give_one_application(app, tenants):
    tenant_id = tenants["bac-giang"]
    open_cycle_around_today(app, tenant_id)
    _producer_id, product_id = producer_with_product(app, tenant_id, stars=3)
    officer, _email = create_user(app, tenant_id, roles=("province_officer",))
    barrier = threading.Barrier(2)
    results = []

    def run():
        with app.app_context(), tenant_scope(tenant_id):
            from app.registry.models import Product

            user = db.session.scalar(select(User).where(User.id == officer))
            product = db.session.scalar(select(Product).where(Product.id == product_id))
            cycle = services.current_cycle(clock.today())
            db.session.commit()
            barrier.wait(timeout=10)
            try:
                services.application_start(
                    cycle=cycle, product=product, kind="re_recognition", user=user, today=clock.today()
                )
                db.session.flush()
                time.sleep(0.5)
                db.session.commit()
                results.append("done")
            except services.WorkflowError as error:
                db.session.rollback()
                results.append(str(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == sorted(["done", f"Sản phẩm này đã đăng ký trong chu trình năm {clock.today().year}."])
    with app.app_context(), tenant_scope(tenant_id):
        count = db.session.scalar(
            select(func.count()).select_from(Application).where(Application.product_id == product_id)
        )
        assert count == 1

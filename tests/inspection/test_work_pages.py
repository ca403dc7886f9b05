"""Inspection work pages over HTTP: the queue, the visit record, refused input explained in Vietnamese and
English (never a 500), filters in the URL, Excel exports with text never formulas, the portal's section,
and the upload endpoints answering a foreign id like a missing one."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.inspection.models import CorrectiveAction, Inspection
from app.inspection.services import inspection_rules
from tenants.context import tenant_scope
from tests import factories
from tests.conftest import csrf_token
from tests.inspection.test_work import make_world

TODAY = clock.today()


@pytest.fixture()
def world(app, fresh_tenant):
    return make_world(app, fresh_tenant)


def _client(app, world, *roles, **kwargs):
    user_id, email = factories.user_of_role(app, world.tenant_id, *roles, **kwargs)
    return factories.signed_in(app, world.slug, email), user_id


def _assigned(app, world, **fields) -> int:
    values = {"status": "assigned", "inspector_id": world.inspector_id} | fields
    return factories.inspection_planned(app, world.tenant_id, world.certificate_id, **values)


def _inspector(app, world):
    from app.auth.models import User

    with app.app_context(), tenant_scope(world.tenant_id):
        email = db.session.scalar(select(User.email).where(User.id == world.inspector_id))
    return factories.signed_in(app, world.slug, email)


def _post(client, url, page, data):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def _actions(app, world) -> int:
    with app.app_context(), tenant_scope(world.tenant_id):
        return db.session.scalar(select(func.count()).select_from(CorrectiveAction))


def test_inspector_queue_and_visit_record(app, world):
    late = _assigned(app, world, window_start=TODAY - timedelta(days=20), due_on=TODAY - timedelta(days=2))
    client = _inspector(app, world)
    page = client.get(f"/{world.slug}/inspections/queue")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and body.count('data-testid="queue-item"') == 1
    assert "Quá hạn 2 ngày" in body
    url = f"/{world.slug}/inspections/{late}"
    assert "Chưa kết luận" in client.get(url).get_data(as_text=True)
    with app.app_context(), tenant_scope(world.tenant_id):
        items = inspection_rules().checklist("routine")
        version = db.session.scalar(select(Inspection).where(Inspection.id == late)).updated_at.isoformat()
    form = {f"answer_{i.code}": "yes" for i in items} | {
        "visited_on": TODAY.strftime("%d/%m/%Y"),
        "notes": "Cơ sở sạch",
        "outcome": "pass",
        "version": version,
    }
    response = _post(client, f"{url}/visit", url, form)
    assert response.status_code == 302
    assert "Đạt" in client.get(url).get_data(as_text=True)
    # The same form sent again (replayed) is refused with a message, never a 500.
    response = _post(client, f"{url}/visit", url, form)
    assert response.status_code == 422 and "người khác thay đổi" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "values, message_vi, message_en",
    [
        ({"description": "Sửa nhãn", "due_on": "31/02/2030"}, "Ngày không hợp lệ", "Invalid date"),
        ({"description": "Sửa nhãn", "due_on": "01/01/99999"}, "Ngày không hợp lệ", "Invalid date"),
        ({"description": "Sửa nhãn", "due_on": "9" * 400}, "Ngày không hợp lệ", "Invalid date"),
        ({"description": "Sửa nhãn", "due_on": "01/01/2999"}, "từ 01/01/2000", "2000"),
        ({"description": "Sửa nhãn", "due_on": "01/01/2001"}, "trước ngày kiểm tra", "before the inspection"),
        ({"description": "Sửa nhãn\x00", "due_on": "01/01/2030"}, "NUL", "NUL"),
        ({"description": "Sửa nhãn", "due_on": "01/01/2030\x00"}, "NUL", "NUL"),
        ({"description": '=HYPERLINK("x")', "due_on": "01/01/2030"}, "công thức", "formula"),
        ({"description": "", "due_on": "01/01/2030"}, "Bắt buộc nhập", "Required"),
        ({"description": "x" * 2001, "due_on": "01/01/2030"}, "Dài quá 2000", "Longer than 2000"),
    ],
)
def test_bad_corrective_action_is_explained_in_both_languages(app, world, values, message_vi, message_en):
    inspection_id = _assigned(app, world)
    client = _inspector(app, world)
    url = f"/{world.slug}/inspections/{inspection_id}"
    response = _post(client, f"{url}/actions", url, values)
    assert response.status_code == 422 and message_vi in response.get_data(as_text=True)
    client.post(f"/{world.slug}/lang/en", data={"csrf_token": csrf_token(client, url), "next": url})
    response = _post(client, f"{url}/actions", url, values)
    assert response.status_code == 422 and message_en in response.get_data(as_text=True)
    assert _actions(app, world) == 0


def test_assignment_page_and_hostile_ids(app, world):
    inspection_id = factories.inspection_planned(app, world.tenant_id, world.certificate_id)
    client, _officer = _client(app, world, "province_officer")
    url = f"/{world.slug}/inspections/{inspection_id}"
    assert "Phân công" in client.get(url).get_data(as_text=True)
    for bad in ("", "abc", "9" * 40, "-1", "1\x00"):
        response = _post(client, f"{url}/assign", url, {"inspector_id": bad})
        assert response.status_code == 422 and "Hãy chọn cán bộ kiểm tra" in response.get_data(as_text=True)
    response = _post(client, f"{url}/assign", url, {"inspector_id": world.inspector_id})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.tenant_id):
        assert db.session.scalar(select(Inspection.inspector_id).where(Inspection.id == inspection_id)) == (
            world.inspector_id
        )
    # An inspector may not assign; a producer may not open another producer's inspection.
    inspector = _inspector(app, world)
    assert _post(inspector, f"{url}/assign", url, {"inspector_id": world.inspector_id}).status_code == 403
    other_producer, _product = factories.producer_with_product(app, world.tenant_id)
    stranger, _uid = _client(app, world, "producer", producer_id=other_producer)
    assert stranger.get(url).status_code == 404
    owner, _uid = _client(app, world, "producer", producer_id=world.producer_id)
    assert owner.get(url).status_code == 200
    assert owner.get(f"/{world.slug}/inspections/").status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "inspector=99999999999999999999999",
        "commune=-5",
        "overdue=1",
        "page=99999999999",
        "page=abc",
        "month=9999-99",
        "month=2026-02",
        "days=7",
        "days=" + "9" * 50,
    ],
)
def test_bad_filters_never_fail(app, world, query):
    client, _officer = _client(app, world, "province_officer")
    for path in ("", "export.xlsx", "calendar", "overdue", "expiring", "expiring.xlsx"):
        assert client.get(f"/{world.slug}/inspections/{path}?{query}").status_code == 200, (path, query)


def test_nul_in_a_filter_is_a_bad_request(app, world):
    client, _officer = _client(app, world, "province_officer")
    response = client.get(f"/{world.slug}/inspections/?status=%00")
    assert response.status_code == 400 and "ký tự NUL" in response.get_data(as_text=True)


def test_lists_overdue_and_exports_keep_text_as_text(app, world):
    _p, product_id = factories.producer_with_product(app, world.tenant_id, name='=HYPERLINK("http://x")')
    certificate_id = factories.certificate_recorded(app, world.tenant_id, product_id)
    late = factories.inspection_planned(
        app, world.tenant_id, certificate_id, window_start=TODAY - timedelta(days=30), due_on=TODAY - timedelta(days=1)
    )
    factories.inspection_planned(app, world.tenant_id, world.certificate_id)
    client, _officer = _client(app, world, "province_officer")
    base = f"/{world.slug}/inspections"
    assert "2 lượt kiểm tra" in client.get(f"{base}/").get_data(as_text=True)
    body = client.get(f"{base}/?overdue=1").get_data(as_text=True)
    assert "1 lượt kiểm tra" in body and f"/inspections/{late}" in body
    assert f"/inspections/{late}" in client.get(f"{base}/overdue").get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(client.get(f"{base}/export.xlsx?overdue=1").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == '=HYPERLINK("http://x")'
    cell = sheet.cell(row=2, column=2)
    assert cell.data_type == "s"
    month = client.get(f"{base}/calendar?month={TODAY:%Y-%m}").get_data(as_text=True)
    assert month.count('data-testid="calendar-item"') == sum(
        1 for d in (TODAY - timedelta(days=1), TODAY + timedelta(days=30)) if d.month == TODAY.month
    )


def test_portal_shows_the_producers_upcoming_inspections_and_open_actions(app, world):
    inspection_id = _assigned(app, world)
    with app.app_context(), tenant_scope(world.tenant_id):
        db.session.add(
            CorrectiveAction(inspection_id=inspection_id, description="Dán nhãn phụ", due_on=TODAY, status="open")
        )
        db.session.commit()
    owner, _uid = _client(app, world, "producer", producer_id=world.producer_id)
    body = owner.get(f"/{world.slug}/portal/").get_data(as_text=True)
    assert "Lượt kiểm tra sắp tới" in body and "Dán nhãn phụ" in body and "Mật ong bạc hà" in body


def test_upload_endpoints_answer_foreign_ids_like_missing_ones(app, world, tenants):
    inspection_id = _assigned(app, world)
    client = _inspector(app, world)
    token = csrf_token(client, f"/{world.slug}/inspections/queue")
    data = {"requirement": "inspection_photo", "filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    headers = {"X-CSRFToken": token}
    presign = f"/{world.slug}/inspections/attachments/presign"
    response = client.post(f"{presign}?inspection={inspection_id}", json=data, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    document_id = response.json["id"]
    assert response.json["confirm_url"].endswith(f"confirm?document={document_id}")
    # Not yet in storage: confirm is refused with a message.
    confirm = client.post(response.json["confirm_url"], json={}, headers=headers)
    assert confirm.status_code == 409 and "Chưa nhận được tệp" in confirm.json["error"]
    # Another province's inspection and document, and ids that exist nowhere: 404 alike.
    foreign = make_world(app, factories.new_tenant(app))  # a province of its own: no unit added to a real one
    foreign_inspection = _assigned(app, foreign)
    foreign_document = factories.document_accepted(app, foreign.tenant_id, foreign.producer_id, foreign.product_id)
    for value in (foreign_inspection, 10**12, "abc", "9" * 30, ""):
        answer = client.post(f"{presign}?inspection={value}", json=data, headers=headers)
        assert answer.status_code == 404, value
    for value in (foreign_document, 10**12, "x"):
        answer = client.post(
            f"/{world.slug}/inspections/attachments/confirm?document={value}", json={}, headers=headers
        )
        assert answer.status_code == 404, value
    bad = client.post(f"{presign}?inspection={inspection_id}", json={**data, "size": 10**30}, headers=headers)
    assert bad.status_code == 400 and bad.json["error"]
    bad = client.post(f"{presign}?inspection={inspection_id}", data="not json", headers=headers)
    assert bad.status_code == 400


def test_the_producer_sends_evidence_from_the_portal(app, world, tenants):
    inspection_id = _assigned(app, world)
    with app.app_context(), tenant_scope(world.tenant_id):
        action = CorrectiveAction(inspection_id=inspection_id, description="Dán nhãn phụ", due_on=TODAY, status="open")
        db.session.add(action)
        db.session.commit()
        action_id = action.id
    owner, _uid = _client(app, world, "producer", producer_id=world.producer_id)
    body = owner.get(f"/{world.slug}/portal/").get_data(as_text=True)
    presign = f"/{world.slug}/inspections/actions/evidence/presign"
    assert f"{presign}?action={action_id}" in body
    headers = {"X-CSRFToken": csrf_token(owner, f"/{world.slug}/portal/")}
    data = {"requirement": "corrective_evidence", "filename": "a.pdf", "content_type": "application/pdf", "size": 10}
    response = owner.post(f"{presign}?action={action_id}", json=data, headers=headers)
    assert response.status_code == 201 and response.json["confirm_url"].endswith("/confirm")
    # Another producer, another province, no such action: 404 alike; an officer may not answer.
    other_producer, _product = factories.producer_with_product(app, world.tenant_id)
    stranger, _uid = _client(app, world, "producer", producer_id=other_producer)
    token = {"X-CSRFToken": csrf_token(stranger, f"/{world.slug}/portal/")}
    for value in (action_id, 10**12, "x"):
        assert stranger.post(f"{presign}?action={value}", json=data, headers=token).status_code == 404
    officer, _uid = _client(app, world, "province_officer")
    token = {"X-CSRFToken": csrf_token(officer, f"/{world.slug}/account")}
    assert officer.post(f"{presign}?action={action_id}", json=data, headers=token).status_code == 403

"""Officers create and edit councils through the pages; bad values answer a clear message, never a 500;
a council made in the app survives the province file's sync (the file manages only its own codes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import Council
from tests.conftest import csrf_token
from tests.factories import signed_in, user_of_role

GOOD = {
    "name": "Hội đồng huyện thử",
    "level": "district",
    "chair_title": "Phó Chủ tịch UBND huyện",
    "valid_from": "01/01/2026",
    "valid_to": "31/12/2030",
    "quorum_ratio": "0,8",
    "max_score_spread": "12.5",
    "dossier_lead_working_days": "3",
    "review_days": "20",
}


def _councils(app, tenant_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalars(select(Council).order_by(Council.id)).all()


@pytest.fixture()
def officer(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _user_id, email = user_of_role(app, tenant_id, "province_officer")
    client = signed_in(app, slug, email)
    base = f"/{slug}/evaluation"
    return client, base, csrf_token(client, f"{base}/councils/new"), tenant_id


def test_create_and_edit_a_council_through_the_pages(app, officer):
    client, base, token, tenant_id = officer
    before = len(_councils(app, tenant_id))
    response = client.post(f"{base}/councils/new", data={"csrf_token": token, **GOOD})
    assert response.status_code == 302
    councils = _councils(app, tenant_id)
    assert len(councils) == before + 1
    council = councils[-1]
    assert response.location.endswith(f"{base}/councils/{council.id}")
    assert council.code.startswith("ui-") and council.name == GOOD["name"] and council.level == "district"
    assert (council.quorum_ratio, council.max_score_spread) == (D("0.8"), D("12.5"))
    assert (council.dossier_lead_working_days, council.review_days) == (3, 20)
    assert (council.valid_from, council.valid_to) == (date(2026, 1, 1), date(2030, 12, 31))
    page = client.get(f"{base}/councils/{council.id}/edit").get_data(as_text=True)
    assert 'value="Hội đồng huyện thử"' in page and 'value="01/01/2026"' in page
    edited = {**GOOD, "name": "Hội đồng đã sửa", "review_days": "30", "valid_to": ""}
    response = client.post(f"{base}/councils/{council.id}/edit", data={"csrf_token": token, **edited})
    assert response.status_code == 302
    council = next(c for c in _councils(app, tenant_id) if c.id == council.id)
    assert (council.name, council.review_days, council.valid_to) == ("Hội đồng đã sửa", 30, None)
    assert len(_councils(app, tenant_id)) == before + 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Hội đồng\x00", "ký tự không hợp lệ"),
        ("name", '=HYPERLINK("x")', "Tên Hội đồng là bắt buộc"),
        ("name", "", "Tên Hội đồng là bắt buộc"),
        ("chair_title", "=1+1", "Chức danh Chủ tịch"),
        ("level", "planet", "Hãy chọn cấp"),
        ("quorum_ratio", "1.5", "Tỷ lệ túc số phải là số từ 0.001 đến 1"),
        ("quorum_ratio", "0", "Tỷ lệ túc số phải là số"),
        ("quorum_ratio", "NaN", "Tỷ lệ túc số phải là số"),
        ("max_score_spread", "-5", "Chênh lệch tối đa phải là số từ 0 đến 100"),
        ("max_score_spread", "9" * 400, "Chênh lệch tối đa phải là số"),
        ("max_score_spread", "1e999", "Chênh lệch tối đa phải là số"),
        ("max_score_spread", "1.234", "Chênh lệch tối đa phải là số"),
        ("dossier_lead_working_days", "=2", "Số ngày làm việc gửi hồ sơ trước phải là số"),
        ("review_days", "99999999999999999999999", "Thời hạn phúc khảo (ngày) phải là số từ 1 đến 365"),
        ("review_days", "1.5", "Thời hạn phúc khảo (ngày) phải là số"),
        ("review_days", "\x00", "ký tự không hợp lệ"),
        ("valid_to", "31/12/2025", "ngày kết thúc phải sau ngày bắt đầu"),
    ],
)
def test_bad_council_values_answer_a_message(app, officer, field, value, message):
    client, base, token, tenant_id = officer
    before = len(_councils(app, tenant_id))
    response = client.post(f"{base}/councils/new", data={"csrf_token": token, **GOOD, field: value})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(_councils(app, tenant_id)) == before


def test_a_foreign_or_missing_council_is_not_found(app, officer, tenants):
    client, base, token, _tenant_id = officer
    foreign = _councils(app, tenants["bac-kan"])[0].id
    for council_id in (foreign, 10**12):
        assert client.get(f"{base}/councils/{council_id}/edit").status_code == 404
        response = client.post(f"{base}/councils/{council_id}/edit", data={"csrf_token": token, **GOOD})
        assert response.status_code == 404


def test_a_council_member_may_not_manage_councils(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _user_id, email = user_of_role(app, tenant_id, "council_member")
    client = signed_in(app, slug, email)
    assert client.get(f"/{slug}/evaluation/councils/new").status_code == 403

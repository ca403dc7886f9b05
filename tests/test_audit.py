"""The audit log records who changed what, before and after, inside the tenant; nobody edits it."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import create_user, csrf_token


def _entries(app, tenant_id, entity, entity_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        ).all()


def test_a_change_through_the_ui_is_recorded_with_before_and_after(app, tenants, officer_login):
    admin, admin_id, admin_email = officer_login("bac-giang", roles=("province_admin",))
    user_id, _email = create_user(app, tenants["bac-giang"], full_name="Lê Văn Cũ")
    token = csrf_token(admin, f"/bac-giang/users/{user_id}/edit")
    response = admin.post(
        f"/bac-giang/users/{user_id}/edit",
        data={
            "csrf_token": token,
            "full_name": "Lê Văn Mới",
            "roles": ["inspector"],
            "unit_id": "0",
            "active": "y",
        },
    )
    assert response.status_code == 302
    entries = _entries(app, tenants["bac-giang"], "users", user_id)
    update = entries[-1]
    assert update.action == "update"
    assert update.actor_kind == "user" and update.actor_id == admin_id and update.actor_label == admin_email
    assert update.changes["full_name"] == ["Lê Văn Cũ", "Lê Văn Mới"]
    assert update.changes["roles"] == [["province_officer"], ["inspector"]]
    # The invitation and its acceptance were recorded too, the password hash masked.
    assert [e.action for e in entries] == ["create", "update", "update"]
    assert entries[1].changes["password_hash"] == [None, "••••"]
    assert all(value in (None, "••••") for e in entries for value in e.changes.get("password_hash", []))
    # Not visible from another province.
    assert _entries(app, tenants["ha-tinh"], "users", user_id) == []


def test_admin_browses_filters_and_exports_the_log(app, tenants, officer_login):
    admin, _admin_id, _email = officer_login("bac-giang", roles=("province_admin",))
    create_user(app, tenants["bac-giang"], full_name="Phạm Thị Nhật Ký")
    page = admin.get("/bac-giang/audit/?entity=users&action=create").get_data(as_text=True)
    # Human words: the action, the record with its name, the fields; no table or column names.
    assert "Người dùng “Phạm Thị Nhật Ký”" in page and "<td>Tạo mới</td>" in page
    assert "Họ và tên" in page and "Mật khẩu" in page
    assert "users #" not in page and "password_hash" not in page and "full_name" not in page
    assert ">create<" not in page
    assert (
        admin.get("/bac-giang/audit/?entity=councils&action=delete").get_data(as_text=True).count("Người dùng “") == 0
    )
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        entry_id = db.session.scalar(
            select(AuditEntry.id)
            .where(AuditEntry.action == "create", AuditEntry.entity == "users")
            .order_by(AuditEntry.id.desc())
        )
    detail = admin.get(f"/bac-giang/audit/{entry_id}").get_data(as_text=True)
    assert "Phạm Thị Nhật Ký" in detail and "Người dùng “Phạm Thị Nhật Ký” — Tạo mới" in detail
    assert "<td>Họ và tên</td>" in detail and "full_name" not in detail
    export = admin.get("/bac-giang/audit/export.xlsx?entity=users")
    assert export.status_code == 200 and export.data[:2] == b"PK"


def test_no_route_can_change_the_log(app):
    audit_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert audit_rules
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in audit_rules)


def test_a_language_switch_is_not_logged(app, tenants, officer_login):
    client, user_id, _email = officer_login("bac-giang")
    before = len(_entries(app, tenants["bac-giang"], "users", user_id))
    token = csrf_token(client, "/bac-giang/account")
    assert client.post("/bac-giang/lang/en", data={"csrf_token": token, "next": "/bac-giang/"}).status_code == 302
    assert client.get("/bac-giang/").get_data(as_text=True).count('lang="en"') == 1
    assert len(_entries(app, tenants["bac-giang"], "users", user_id)) == before

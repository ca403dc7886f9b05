"""The inspection policy: parsing and defaults (pure), the province file's section, the admin's page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.inspection.models import InspectionPolicy
from app.inspection.policy import DEFAULT_RULES, PolicyError, group_of, rules_parse
from tenants.context import Actor, acting_as, tenant_scope
from tenants.sync import PROVINCES_DIR, sync_file
from tests.conftest import csrf_token

# ----------------------------------------------------------------------------- pure rules


def test_defaults_routine_yearly_weak_3_stars_twice_a_year_food_and_drinks_sampled():
    rules = rules_parse(None)
    assert rules == rules_parse(DEFAULT_RULES)
    assert rules.routine_months(3, Decimal("55"), "IV") == 6
    assert rules.routine_months(3, Decimal("60"), "IV") == 12
    assert rules.routine_months(3, None, "IV") == 12
    assert rules.routine_months(4, Decimal("55"), "I") == 12
    assert (rules.sampled("I"), rules.sampled("II"), rules.sampled("IV"), rules.sampled(None)) == (
        True,
        True,
        False,
        False,
    )
    assert rules.expiry_review_days == 90 and rules.outside_commune is True
    assert [item.code for item in rules.checklist("routine")][:2] == ["process", "label"]
    assert rules_parse(rules.as_data()) == rules


def test_the_first_matching_rule_wins():
    rules = rules_parse(
        {
            "default_months": 24,
            "rules": [{"groups": ["I"], "months": 3}, {"stars": [3, 4], "months": 9}, {"score_min": 90, "months": 18}],
        }
    )
    assert rules.routine_months(3, Decimal(65), "I") == 3
    assert rules.routine_months(4, Decimal(80), "II") == 9
    assert rules.routine_months(5, Decimal(95), "II") == 18
    assert rules.routine_months(5, Decimal(89.5), "II") == 24


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"default_months": 0}, "default_months"),
        ({"default_months": 10**30}, "default_months"),
        ({"default_months": True}, "default_months"),
        ({"default_months": "=1+1"}, "default_months"),
        ({"expiry_review_days": 366}, "expiry_review_days"),
        ({"sampling_groups": ["VII"]}, "sampling_groups"),
        ({"outside_commune": "yes"}, "outside_commune"),
        ({"rules": [{"stars": [2], "months": 6}]}, "rules"),
        ({"rules": [{"score_min": 60, "score_max": 50, "months": 6}]}, "rules"),
        ({"rules": [{"score_min": "NaN", "months": 6}]}, "rules"),
        ({"rules": [{"months": 6, "colour": "red"}]}, "rules"),
        ({"rules": [{"stars": [3]}]}, "rules"),
        ({"checklists": {"routine": [{"code": "A B", "text": "x"}]}}, "checklists"),
        ({"checklists": {"routine": [{"code": "a", "text": "x\x00"}]}}, "checklists"),
        ({"checklists": {"routine": [{"code": "a", "text": "x"}, {"code": "a", "text": "y"}]}}, "checklists"),
        ({"checklists": {"party": []}}, "checklists"),
        ({"unknown": 1}, None),
    ],
)
def test_bad_policies_are_refused_with_the_field(data, field, app):
    with app.test_request_context(), pytest.raises(PolicyError) as error:
        rules_parse(data)
    assert error.value.field == field
    assert str(error.value)


def test_groups_of_both_taxonomies():
    assert group_of("148/QĐ-TTg", "I.1.1") == "I"
    assert group_of("148/QĐ-TTg", "III") == "III"
    assert group_of("1048/QĐ-TTg", "2") == "II"
    assert group_of("1048/QĐ-TTg", "5") == "IV"
    assert group_of(None, None) is None


# ----------------------------------------------------------------------------- the province file


def _province_file(tmp_path, slug, inspection: str) -> object:
    source = (PROVINCES_DIR / "nam-dinh.toml").read_text(encoding="utf-8")
    body = source.split("# ---------------------------------------------------------------- inspection")[0]
    body = body.replace('slug = "nam-dinh"', f'slug = "{slug}"', 1)
    path = tmp_path / f"{slug}.toml"
    path.write_text(body + inspection, encoding="utf-8")
    return path


def _policy(app, slug):
    from tenants.models import Tenant

    with app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        with tenant_scope(tenant_id):
            row = db.session.scalar(select(InspectionPolicy))
            return tenant_id, (row.source, row.version, row.rules["default_months"]) if row else None


def test_the_file_section_is_synced_and_an_admins_edit_stays_until_the_file_changes(app, tmp_path):
    from app.inspection.services import inspection_policy_update

    slug = f"thu-insp-{tmp_path.name[-6:].lower().replace('_', '')}"
    path = _province_file(tmp_path, slug, "\n[inspection]\ndefault_months = 18\n")
    with app.app_context(), acting_as(Actor("system", None, "test")):
        assert sync_file(path).changes.get("inspection_policy") == 1
        db.session.commit()
    tenant_id, policy = _policy(app, slug)
    assert policy == ("file", 1, 18)
    with app.app_context(), acting_as(Actor("system", None, "test")):
        assert "inspection_policy" not in sync_file(path, force=True).changes  # the same section again
        db.session.commit()
        with tenant_scope(tenant_id):
            inspection_policy_update(None, {"default_months": 9}, expected_version=1)
            db.session.commit()
    assert _policy(app, slug)[1] == ("edited", 2, 9)
    with app.app_context(), acting_as(Actor("system", None, "test")):
        sync_file(path, force=True)  # the file did not change: the admin's edit stays
        db.session.commit()
    assert _policy(app, slug)[1] == ("edited", 2, 9)
    path.write_text(path.read_text(encoding="utf-8").replace("default_months = 18", "default_months = 6"))
    with app.app_context(), acting_as(Actor("system", None, "test")):
        assert sync_file(path).changes.get("inspection_policy") == 1
        db.session.commit()
    assert _policy(app, slug)[1] == ("file", 3, 6)


def test_a_bad_section_is_refused_with_the_file_named(app, tmp_path):
    from tenants.sync import DefinitionError

    path = _province_file(tmp_path, "thu-insp-bad", "\n[inspection]\ndefault_months = 99\n")
    with app.app_context(), acting_as(Actor("system", None, "test")), pytest.raises(DefinitionError) as error:
        sync_file(path)
    assert "thu-insp-bad" in str(error.value) and "default_months" in str(error.value)
    with app.app_context():
        db.session.rollback()


def test_the_four_provinces_carry_their_policy(app, tenants):
    for slug in ("bac-giang", "ha-tinh", "bac-kan", "nam-dinh"):
        assert _policy(app, slug)[1][0] in ("file", "edited")


# ----------------------------------------------------------------------------- the pages


def _form(rules_text="sao=3; điểm=50-60; tháng=6", **overrides):
    data = {
        "version": "0",
        "default_months": "12",
        "rules": rules_text,
        "sampling_groups": ["I", "II"],
        "sampling_months": "12",
        "expiry_review_days": "90",
        "outside_commune": "y",
        "checklist_routine": "label | Nhãn đúng hồ sơ\nrecords | Hồ sơ truy xuất",
        "checklist_sampling": "sample | Lấy mẫu",
        "checklist_expiry_review": "",
        "checklist_follow_up": "",
        "checklist_ad_hoc": "",
    }
    return data | overrides


def test_a_province_admin_edits_the_policy_and_it_is_audited(app, fresh_tenant, sign_in):
    tenant_id, slug = fresh_tenant
    admin = sign_in(slug, tenant_id, roles=("province_admin",))
    page = admin.get(f"/{slug}/inspections/policy/")
    assert page.status_code == 200 and "12 tháng một lần" in page.get_data(as_text=True)
    url = f"/{slug}/inspections/policy/edit"
    form = _form(
        "sao=3; điểm=50-60; tháng=4\nnhóm=I,II; tháng=8", default_months="10", csrf_token=csrf_token(admin, url)
    )
    response = admin.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context(), tenant_scope(tenant_id):
        row = db.session.scalar(select(InspectionPolicy))
        assert (row.source, row.version, row.rules["default_months"]) == ("edited", 1, 10)
        assert row.rules["rules"] == [
            {"months": 4, "stars": [3], "score_min": 50, "score_max": 60},
            {"months": 8, "groups": ["I", "II"]},
        ]
        assert row.rules["checklists"]["routine"][0] == {"code": "label", "text": "Nhãn đúng hồ sơ"}
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "inspection_policies")).all()
        assert [(a.action, a.actor_kind) for a in audit] == [("create", "user")]
    # The page the admin had open still says version 0: the second save is refused, nothing changes.
    stale = admin.post(url, data=_form(default_months="7", csrf_token=csrf_token(admin, url)))
    assert stale.status_code == 200 and "người khác thay đổi" in stale.get_data(as_text=True)
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(InspectionPolicy.version)) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"default_months": "99999999999999999999999"}, "36"),
        ({"default_months": "=1+1"}, ""),
        ({"rules": "sao=3; tháng=\x00"}, "NUL"),
        ({"rules": "sao=3; tháng=abc"}, "Dòng 1"),
        ({"rules": "màu=đỏ"}, "Dòng 1"),
        ({"rules": "sao=2; tháng=6"}, "3, 4 hoặc 5"),
        ({"checklist_routine": "không có dấu gạch"}, "Dòng 1"),
        ({"checklist_routine": "=cmd | =HYPERLINK(1)"}, "mã chỉ gồm"),
        ({"expiry_review_days": "-5"}, "365"),
    ],
)
def test_hostile_policy_input_is_a_clear_400_like_page(app, fresh_tenant, sign_in, overrides, message):
    tenant_id, slug = fresh_tenant
    admin = sign_in(slug, tenant_id, roles=("province_admin",))
    url = f"/{slug}/inspections/policy/edit"
    response = admin.post(url, data=_form(csrf_token=csrf_token(admin, url), **overrides))
    assert response.status_code == 200  # the form again, with the error on its field
    assert message in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(InspectionPolicy)) is None


def test_only_a_province_admin_may_edit(app, fresh_tenant, sign_in):
    tenant_id, slug = fresh_tenant
    officer = sign_in(slug, tenant_id, roles=("province_officer",))
    assert officer.get(f"/{slug}/inspections/policy/").status_code == 200
    assert officer.get(f"/{slug}/inspections/policy/edit").status_code == 403

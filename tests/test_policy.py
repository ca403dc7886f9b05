"""The access policy as a table: every action, every role, allowed or denied exactly (pure logic)."""

from __future__ import annotations

import pytest

from app.auth import policy
from app.auth.models import Account, User
from app.auth.roles import GLOBAL_ROLES, TENANT_ROLES

PA, PO, CO, CM, IN, PR = (
    "province_admin",
    "province_officer",
    "commune_officer",
    "council_member",
    "inspector",
    "producer",
)
NV, PL = "national_viewer", "platform_admin"

# Written out by hand (not derived from the module), so a change to the policy shows up here.
EXPECTED = {
    "dashboard.view": {PA, PO, CO, CM, IN},
    "portal.view": {PR},
    "planning.view": {PA, PO, CO, CM, IN},
    "registry.view": {PA, PO, CO},
    "registry.record": {PA, PO, CO, PR},
    "registry.edit": {PA, PO},
    "registry.import": {PA, PO},
    "product.photo.upload": {PA, PO, PR},
    "cycle.view": {PA, PO, CO},
    "cycle.manage": {PA, PO},
    "application.view": {PA, PO, CO, PR},
    "application.export": {PA, PO, CO},
    "application.start": {PA, PO, PR},
    "application.submit": {PR},
    "application.screen": {PA, PO, CO},
    "application.review_plan": {PA, PO},
    "application.forward": {PA, PO},
    "documents.upload": {PA, PO, CO, PR},
    "documents.view": {PA, PO, CO, CM, IN, PR},
    "users.manage": {PA},
    "audit.view": {PA},
    "certificate.view": {PA, PO, CO, CM, IN},
    "certificate.manage": {PA, PO},
    "certificate.download": {PA, PO, CO, CM, IN, PR},
    "evaluation.manage": {PA, PO},
    "evaluation.view": {PA, PO, CM},
    "evaluation.score": {CM},
    "evaluation.results": {PA, PO, PR},
    "notices.view": {PA, PO, CO, CM, IN, PR},
    "notices.outbox": {PA},
    "jobs.view": {PA},
    "jobs.retry": {PA},
    "target.manage": {PA},
    "reward.view": {PA, PO, CO},
    "reward.manage": {PA, PO},
    "inspection.view": {PA, PO, CO, IN, PR},
    "inspection.record": {PA, PO, IN},
    "inspection.manage": {PA, PO},
    "inspection.policy.edit": {PA},
    "corrective_action.respond": {PR},
    "national.view": {NV},
    "platform.manage": {PL},
}
ALL_ROLES = (*TENANT_ROLES, *GLOBAL_ROLES)


def _person(role: str, producer_id: int | None = None):
    if role in GLOBAL_ROLES:
        return Account(role=role)
    return User(roles=[role], producer_id=producer_id)


def test_the_table_declares_exactly_the_expected_actions():
    assert set(policy.PERMISSIONS) == set(EXPECTED)
    assert len(policy.PERMISSIONS) == 42


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_role_is_allowed_or_denied_exactly(action):
    allowed = {role for role in ALL_ROLES if policy.can(_person(role), action)}
    assert allowed == EXPECTED[action]


def test_roles_add_up_and_nobody_signed_out_may_do_anything():
    from flask_login import AnonymousUserMixin

    both = User(roles=[CO, PR])
    assert policy.can(both, "registry.view") and policy.can(both, "portal.view")
    for action in EXPECTED:
        assert policy.can(AnonymousUserMixin(), action) is False
        assert policy.can(None, action) is False
        assert policy.can(User(roles=[]), action) is False


def test_an_undeclared_action_is_an_error_not_a_denial():
    with pytest.raises(KeyError, match="declare it"):
        policy.can(_person(PA), "registry.delete")
    with pytest.raises(KeyError):
        policy.permission_required("registry.delete")


def test_a_producer_reaches_only_its_own_producer():
    producer = User(roles=[PR], producer_id=41)
    assert policy.own_producer_id(producer, "application.view") == 41
    assert policy.own_producer_id(producer, "documents.view") == 41
    # Bound to no producer: nothing at all (0 matches no row).
    assert policy.own_producer_id(User(roles=[PR]), "application.view") == 0


def test_a_role_that_grants_the_action_province_wide_lifts_the_scope():
    assert policy.own_producer_id(User(roles=[PO]), "application.view") is None
    assert policy.own_producer_id(User(roles=[PR, CO], producer_id=41), "application.view") is None
    # A council member reads every document, but the pipeline only through the producer role.
    council_producer = User(roles=[PR, CM], producer_id=41)
    assert policy.own_producer_id(council_producer, "documents.view") is None
    assert policy.own_producer_id(council_producer, "application.view") == 41


def test_workflow_transitions_name_declared_actions():
    from app.cycle import workflow

    assert {t.permission for t in workflow.TRANSITIONS.values()} == {
        "application.submit",
        "application.screen",
        "application.review_plan",
        "application.forward",
        "evaluation.manage",  # the council's outcome, applied by app/evaluation only (system transitions)
    }
    assert {a for a, t in workflow.TRANSITIONS.items() if t.system} == {
        "council_recognise",
        "council_not_recognise",
        "council_propose_ministry",
        "ministry_answer",
    }
    forward = workflow.TRANSITIONS["forward_to_council"]
    assert [r for r in ALL_ROLES if workflow.may_perform(forward, _person(r))] == [PA, PO]

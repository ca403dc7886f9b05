"""Every URL rule is classified, and every id-bearing rule answers a foreign id exactly like a missing one.

A new route fails this test until it is classified here: that is the point.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth import services as auth
from app.auth.models import User
from app.certification.models import Certificate
from app.certification.services import certificate_record
from app.cycle.models import Application, Cycle
from app.cycle.services import cycle_open
from app.documents.models import Document
from app.extensions import db
from app.planning.models import Policy
from app.registry.models import Producer, Product, RegistryImport
from tenants.context import tenant_scope
from tests.conftest import csrf_token, unique_email

PUBLIC_RULES = {"/", "/healthz", "/lang/<code>", "/static/<path:filename>"}
AREA_PREFIXES = {"/<tenant_slug>": "tenant", "/national": "national", "/platform": "platform"}
# Tenant URL arguments naming a tenant-owned row, and the model they point into.
TENANT_ID_ARGS = {
    "user_id": User,
    "audit_id": AuditEntry,
    "policy_id": Policy,
    "producer_id": Producer,
    "product_id": Product,
    "cycle_id": Cycle,
    "application_id": Application,
    "import_id": RegistryImport,
    "document_id": Document,
    "certificate_id": Certificate,
}
# Tenant URL arguments that are secrets resolved inside the tenant (checked separately below).
TENANT_SECRET_ARGS = {"token"}
# Arguments that identify no tenant data.
PLAIN_ARGS = {"tenant_slug", "code", "filename", "action"}
# Platform admins manage every tenant by design: tenant ids are global there.
PLATFORM_GLOBAL_ARGS = {"tenant_id"}
# Tenant endpoints reachable without signing in.
TENANT_PUBLIC_ENDPOINTS = {"auth.login", "auth.accept_invite", "auth.switch_language", "auth.logout"}


def classify(rule) -> str:
    if rule.rule in PUBLIC_RULES:
        return "public"
    for prefix, area in AREA_PREFIXES.items():
        if rule.rule == prefix or rule.rule.startswith(prefix + "/"):
            return area
    return "unclassified"


def test_every_rule_is_classified(app):
    unclassified = [rule.rule for rule in app.url_map.iter_rules() if classify(rule) == "unclassified"]
    assert unclassified == []
    known = PLAIN_ARGS | set(TENANT_ID_ARGS) | TENANT_SECRET_ARGS | PLATFORM_GLOBAL_ARGS
    for rule in app.url_map.iter_rules():
        unknown = set(rule.arguments) - known
        assert not unknown, f"{rule.rule}: classify the argument(s) {unknown}"
        if classify(rule) != "platform":
            assert not (set(rule.arguments) & PLATFORM_GLOBAL_ARGS), rule.rule


def tenant_rules(app):
    return [rule for rule in app.url_map.iter_rules() if classify(rule) == "tenant"]


@pytest.fixture(scope="module")
def foreign_ids(app, tenants):
    """Ids of Hà Tĩnh rows, and ids that exist nowhere."""
    with app.app_context(), tenant_scope(tenants["ha-tinh"]):
        user, token = auth.user_invite(
            email=unique_email("foreign"), full_name="Người Hà Tĩnh", roles=["province_officer"]
        )
        producer = Producer(name="HTX Hà Tĩnh", kind="htx")
        db.session.add(producer)
        db.session.flush()
        product = Product(producer_id=producer.id, name="Cam Khe Mây")
        db.session.add(product)
        cycle = db.session.scalar(select(Cycle).where(Cycle.year == 2032)) or cycle_open(2032)
        db.session.flush()
        application = Application(
            cycle_id=cycle.id, product_id=product.id, kind="new", status="idea_submitted", screening_level="commune"
        )
        db.session.add(application)
        document = Document(
            producer_id=producer.id,
            product_id=product.id,
            requirement="test_report",
            original_filename="phieu.pdf",
            content_type="application/pdf",
            declared_size=10,
            size=10,
            sha256="0" * 64,
            storage_key="tenants/foreign/documents/x",
            status="accepted",
        )
        db.session.add(document)
        certificate, _created = certificate_record(
            product, stars=3, decision_number="9/QĐ-UBND", decision_date=date(2024, 5, 2)
        )
        registry_import = RegistryImport(filename="ha-tinh.xlsx", storage_key="tenants/foreign/imports/y.xlsx")
        db.session.add(registry_import)
        db.session.commit()
        foreign = {
            "user_id": user.id,
            "audit_id": db.session.scalar(select(func.min(AuditEntry.id))),
            "policy_id": db.session.scalar(select(func.min(Policy.id))),
            "producer_id": producer.id,
            "product_id": product.id,
            "cycle_id": cycle.id,
            "application_id": application.id,
            "import_id": registry_import.id,
            "document_id": document.id,
            "certificate_id": certificate.id,
            "token": token,
        }
    missing = {key: 10**12 for key in TENANT_ID_ARGS} | {"token": "no-such-invitation-token"}
    return foreign, missing


def _url(rule, values) -> str:
    url = rule.rule
    for arg, value in values.items():
        url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(value), url)
    return url


def _normalised(body: str, url: str) -> str:
    # The CSRF token and the page's own URL (in the language switch) differ; nothing else may.
    body = body.replace(url, "<url>")
    return re.sub(r'value="[^"]*" name="csrf_token"|name="csrf_token" (type="hidden" )?value="[^"]*"', "", body)


def test_foreign_id_answers_exactly_like_missing_id(app, foreign_ids, officer_login):
    foreign, missing = foreign_ids
    client, _user_id, _email = officer_login("bac-giang", roles=("province_admin",))
    token = csrf_token(client, "/bac-giang/account")
    checked = 0
    for rule in tenant_rules(app):
        id_args = set(rule.arguments) & (set(TENANT_ID_ARGS) | TENANT_SECRET_ARGS)
        if not id_args:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            responses = []
            for values in (foreign, missing):
                url = _url(
                    rule, {"tenant_slug": "bac-giang", "action": "accept_idea", **{a: values[a] for a in id_args}}
                )
                response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
                responses.append((response.status_code, _normalised(response.get_data(as_text=True), url)))
            assert responses[0][0] == 404, f"{method} {rule.rule} with a foreign id answered {responses[0][0]}"
            assert responses[0] == responses[1], f"{method} {rule.rule}: foreign and missing ids differ"
            checked += 1
    assert checked >= 5  # users edit GET/POST, invite POST, audit show, policy show, accept_invite GET/POST


def test_signed_in_province_sees_nothing_of_another(app, officer_login):
    """A Bắc Giang session is anonymous under /ha-tinh/: every page sends it to Hà Tĩnh's login."""
    client, _user_id, _email = officer_login("bac-giang", roles=("province_admin",))
    for rule in tenant_rules(app):
        if rule.arguments - {"tenant_slug", "action"} or rule.endpoint in TENANT_PUBLIC_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule, {"tenant_slug": "ha-tinh", "action": "x"}), method=method)
            assert response.status_code in (302, 400), f"{method} {rule.rule} answered {response.status_code}"
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/ha-tinh/login"), rule.rule


def test_unknown_tenant_is_404(client):
    assert client.get("/khong-co-tinh-nay/login").status_code == 404
    assert client.get("/khong-co-tinh-nay/").status_code == 404


def test_account_of_one_area_is_anonymous_in_others(app, tenants, officer_login):
    client, _user_id, _email = officer_login("bac-giang", roles=("province_admin",))
    assert client.get("/national/").status_code == 302
    assert client.get("/platform/").status_code == 302


# Tenant URLs that take tenant-owned ids in the query string (filters), and those arguments.
QUERY_ID_RULES = {"/<tenant_slug>/counts/products": ("district", "commune")}


def test_foreign_ids_in_query_strings_answer_like_missing_ids(app, tenants, officer_login):
    """The counts' lists filter by unit ids: another province's unit is a missing unit (no rows, same page)."""
    from tenants.models import AdminUnit

    assert set(QUERY_ID_RULES) <= {rule.rule for rule in tenant_rules(app)}
    with app.app_context(), tenant_scope(tenants["ha-tinh"]):
        foreign_unit = db.session.scalar(select(func.min(AdminUnit.id)))
    client, _user_id, _email = officer_login("bac-giang")
    for rule, args in QUERY_ID_RULES.items():
        for arg in args:
            bodies = []
            for value in (foreign_unit, 10**12):
                url = f"{rule.replace('<tenant_slug>', 'bac-giang')}?status=ever&{arg}={value}"
                response = client.get(url)
                assert response.status_code == 200, url
                bodies.append(_normalised(response.get_data(as_text=True).replace(str(value), "<id>"), url))
            assert bodies[0] == bodies[1], f"{rule} {arg}: foreign and missing ids differ"

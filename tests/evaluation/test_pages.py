"""The evaluation pages over HTTP: an officer builds a round, members declare and score through the pages,
spread blocks closing, the chair asks for a re-score, the officer closes with a decision and downloads the
minutes and decision; the producer sees the breakdown and asks for a review. Bad input never gives a 500."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal as D

from openpyxl import load_workbook
from sqlalchemy import select

from app.cycle.models import Application
from app.evaluation import services
from app.evaluation.models import RoundProduct, ScoreSheet
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tests.conftest import csrf_token
from tests.evaluation.conftest import council_for
from tests.factories import application_at, signed_in, user_of_role


def _criteria(app, tenant_id, product_id, act):
    with app.app_context(), tenant_scope(tenant_id):
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        return services.criteria_for(act, product)


def _score_page(client, base, item_url, criteria, share, token):
    assert client.post(f"{item_url}/conflict", data={"csrf_token": token, "conflicted": "0"}).status_code == 302
    points = {f"c_{c.code}": str((c.max * share).quantize(D("0.01"))) for c in criteria}
    response = client.post(f"{item_url}/score", data={"csrf_token": token, "submit": "1", **points})
    assert response.status_code == 302


def test_whole_round_through_the_pages(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    council_id, members, emails = council_for(app, tenant_id)
    ids = application_at(app, tenant_id, "ready_for_council")
    with app.app_context(), tenant_scope(tenant_id):
        db.session.scalar(select(Product).where(Product.id == ids.product_id)).name = '=HYPERLINK("x")'
        db.session.commit()
    _officer_id, officer_email = user_of_role(app, tenant_id, "province_officer")
    officer = signed_in(app, slug, officer_email)
    base = f"/{slug}/evaluation"
    token = csrf_token(officer, f"{base}/rounds")
    # Bad input on creation: a clear message, never a 500.
    for bad in ({"name": "x\x00", "meeting_on": "01/01/2026"}, {"name": "ok", "meeting_on": "99/99/9999"}):
        response = officer.post(f"{base}/rounds", data={"csrf_token": token, "council_id": council_id, **bad})
        assert response.status_code == 302 and response.location.endswith(f"{base}/rounds")
    meeting = (date.today() - timedelta(days=1)).strftime("%d/%m/%Y")
    response = officer.post(
        f"{base}/rounds",
        data={"csrf_token": token, "council_id": str(council_id), "name": "Đợt 1", "meeting_on": meeting},
    )
    assert response.status_code == 302
    round_url = response.location
    round_id = int(round_url.rstrip("/").rsplit("/", 1)[1])
    page = officer.get(round_url).get_data(as_text=True)
    assert f'value="{ids.application_id}"' in page
    assert (
        officer.post(
            f"{round_url}/assign", data={"csrf_token": token, "application_id": ids.application_id}
        ).status_code
        == 302
    )
    with app.app_context(), tenant_scope(tenant_id):
        item_id = db.session.scalar(select(RoundProduct.id).where(RoundProduct.round_id == round_id))
    item_url = f"{round_url}/items/{item_id}"
    criteria = _criteria(app, tenant_id, ids.product_id, services.rules.rule_version_on(date.today()).act)
    clients = [signed_in(app, slug, email) for email in emails]
    tokens = [csrf_token(c, item_url) for c in clients]
    # Bad scores: NUL, formula, huge, NaN, negative, above the maximum — each refused with a message.
    chair, chair_token = clients[0], tokens[0]
    chair.post(f"{item_url}/conflict", data={"csrf_token": chair_token, "conflicted": "0"})
    code = criteria[0].code
    for bad in ("\x00", "=1+1", "9" * 400, "NaN", "-1", str(criteria[0].max + 1), "1e999"):
        response = chair.post(
            f"{item_url}/score",
            data={"csrf_token": chair_token, f"c_{code}": bad},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 422, bad
        assert response.get_json()["error"]
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(ScoreSheet).where(ScoreSheet.round_product_id == item_id)) is None
    # Spread 20 points: closing is refused.
    for client, tok, share in zip(clients, tokens, (D("0.80"), D("0.78"), D("0.60"), D("0.79")), strict=True):
        _score_page(client, base, item_url, criteria, share, tok)
    close = {"csrf_token": token, "decision_number": "12/QĐ-UBND", "decision_date": date.today().strftime("%d/%m/%Y")}
    officer.post(f"{round_url}/close", data=close)
    assert "chưa đủ điều kiện" in officer.get(round_url).get_data(as_text=True)
    # The chair asks for a re-score; members score again within the spread.
    assert chair.post(f"{item_url}/rescore", data={"csrf_token": chair_token}).status_code == 302
    for client, tok, share in zip(clients, tokens, (D("0.80"), D("0.78"), D("0.76"), D("0.79")), strict=True):
        points = {f"c_{c.code}": str((c.max * share).quantize(D("0.01"))) for c in criteria}
        assert client.post(f"{item_url}/score", data={"csrf_token": tok, "submit": "1", **points}).status_code == 302
    # A council member may not download the decision (officers only); before closing there is none.
    assert clients[1].get(f"{round_url}/decision.pdf").status_code == 403
    assert officer.get(f"{round_url}/decision.pdf").status_code == 302
    for bad_number in ("\x00", "x" * 65):
        officer.post(f"{round_url}/close", data={**close, "decision_number": bad_number})
    assert officer.post(f"{round_url}/close", data={**close, "decision_date": "31/02/2026"}).status_code == 302
    assert officer.post(f"{round_url}/close", data=close).status_code == 302
    with app.app_context(), tenant_scope(tenant_id):
        item = db.session.scalar(select(RoundProduct).where(RoundProduct.id == item_id))
        application = db.session.scalar(select(Application).where(Application.id == ids.application_id))
        assert (item.outcome, item.stars, item.mean_score, application.status) == (
            "recognised",
            4,
            D("78.25"),
            "recognised",
        )
    # The minutes and the decision, as PDF and Excel; the formula-like name stays text.
    for url in (f"{round_url}/minutes.pdf", f"{round_url}/decision.pdf"):
        response = officer.get(url)
        assert (response.status_code, response.mimetype, response.data[:5]) == (200, "application/pdf", b"%PDF-")
    workbook = load_workbook(io.BytesIO(officer.get(f"{round_url}/decision.xlsx").data))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][0] == '=HYPERLINK("x")' and rows[1][2:4] == (78.25, 4) and rows[1][5] == "12/QĐ-UBND"
    assert workbook.active.cell(row=2, column=1).data_type == "s"
    minutes = load_workbook(io.BytesIO(officer.get(f"{round_url}/minutes.xlsx").data))
    assert [r[0] for r in minutes.active.iter_rows(values_only=True)][1:] == ['=HYPERLINK("x")']
    # The producer sees the breakdown and asks for a review; bad reasons are refused.
    producer_user_id, producer_email = user_of_role(app, tenant_id, "producer", producer_id=ids.producer_id)
    producer = signed_in(app, slug, producer_email)
    result_url = f"{base}/results/{item_id}"
    page = producer.get(result_url).get_data(as_text=True)
    assert "78,25" in page
    producer_token = csrf_token(producer, result_url)
    for bad in ("", "\x00", "x" * 4001):
        assert producer.post(result_url, data={"csrf_token": producer_token, "reason": bad}).status_code == 302
    assert producer.post(result_url, data={"csrf_token": producer_token, "reason": "Xin chấm lại"}).status_code == 302
    with app.app_context(), tenant_scope(tenant_id):
        item = db.session.scalar(select(RoundProduct).where(RoundProduct.id == item_id))
        assert [r.reason for r in services.review_requests(item)] == ["Xin chấm lại"]


def test_criteria_import_from_an_xlsx_through_the_page(app, fresh_tenant):
    from app.core.acts import ACT_1489
    from app.evaluation.models import CriteriaTemplate
    from tests.evaluation.test_rules import _generic_rows, _xlsx

    tenant_id, slug = fresh_tenant
    _officer_id, email = user_of_role(app, tenant_id, "province_officer")
    officer = signed_in(app, slug, email)
    url = f"/{slug}/evaluation/criteria"
    token = csrf_token(officer, url)
    bad_rows = _generic_rows()
    bad_rows[0][3] = 10**30
    for content in (b"PK\x03\x04 not a zip", _xlsx(bad_rows)):
        response = officer.post(
            url,
            data={"csrf_token": token, "act": ACT_1489, "group": "I", "file": (io.BytesIO(content), "bang.xlsx")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        assert "Bộ tiêu chí không hợp lệ" in officer.get(url).get_data(as_text=True)
    response = officer.post(
        url,
        data={
            "csrf_token": token,
            "act": ACT_1489,
            "group": "I",
            "file": (io.BytesIO(_xlsx(_generic_rows())), "b.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context(), tenant_scope(tenant_id):
        (template,) = db.session.scalars(select(CriteriaTemplate)).all()
        assert (template.act, template.product_group, template.name) == (ACT_1489, "I", "Bộ tiêu chí Excel")
        assert len(template.criteria) == len(services.rules.rule_version(ACT_1489).template)

"""Nam Định's list as of 31/12/2020 brought in THROUGH THE IMPORT: 146 certified products (118 3★,
28 4★ recognised in 2019–2020), uploaded like an officer does (import_submit keeps the workbook in
storage and queues the job) and imported by the real job body on the `reports` queue.

On 31/12/2020 all 146 are valid; today none is (36-month terms) and 146 were ever certified. The
district breakdown equals a count made here from the rows alone, by the PRODUCT's district: every
fifth product is made in another district than its producer's, so counting by the producer would differ.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from app.certification.counts import certificate_counts
from app.certification.models import Certificate
from app.core.clock import today as vietnam_today
from app.exchange.services import import_submit
from app.extensions import db
from app.registry.models import RegistryImport
from tests.dashboard.conftest import tenant_scope
from tests.exchange.workbooks import certified_list, certified_rows

AS_OF = date(2020, 12, 31)


def _work_reports_queue(app):
    from rq import SimpleWorker
    from rq.registry import FailedJobRegistry

    from jobs.queues import get_queue, redis_connection

    with app.app_context():
        queue = get_queue("reports")
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []


def test_rows_are_the_reported_shape():
    rows = certified_rows("ND", elsewhere_every=5)
    assert Counter(r.stars for r in rows) == {3: 118, 4: 28}
    assert {r.decision_date.year for r in rows} == {2019, 2020}
    assert max(r.decision_date for r in rows) <= AS_OF
    moved = [r for r in rows if r.product_district and r.product_district != r.district]
    assert len(moved) == 30  # the product's district is not its producer's for these
    assert Counter(r.product_district_name for r in rows) != Counter(r.district for r in rows)


@pytest.fixture(scope="module")
def nam_dinh_2020(app, fresh_province):
    slug, tenant_id = fresh_province("nam-dinh")
    rows = certified_rows("ND", elsewhere_every=5)
    with app.app_context(), tenant_scope(tenant_id):
        record = import_submit(certified_list(rows), "nam-dinh-2020.xlsx", None, as_of=AS_OF)
        db.session.commit()
        import_id = record.id
    _work_reports_queue(app)  # the job body, through the tenant wrapper, as the worker runs it
    with app.app_context(), tenant_scope(tenant_id):
        record = db.session.get(RegistryImport, (tenant_id, import_id))
        assert record.status == "done", record.error
        assert record.report["errors"] == [] and record.report["rows"] == 146
        assert record.report["certificates"] == 146 and record.report["created_products"] == 146
    return slug, tenant_id, rows


def test_146_valid_at_the_end_of_2020_none_today(app, nam_dinh_2020):
    _slug, tenant_id, rows = nam_dinh_2020
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 146
        then, now = certificate_counts(AS_OF), certificate_counts(vietnam_today())
    assert (then.valid, then.ever) == (146, 146)
    assert {r.key: r.valid for r in then.by["stars"]} == {"3": 118, "4": 28}
    assert (now.valid, now.ever) == (0, 146)
    assert {r.key: (r.valid, r.ever) for r in now.by["stars"]} == {"3": (0, 118), "4": (0, 28)}
    independent = Counter(r.product_district_name for r in rows)
    assert len(independent) == 10 and sum(independent.values()) == 146
    for counts in (then, now):
        assert {r.label: r.ever for r in counts.by["district"]} == dict(independent)
    assert {r.label: r.valid for r in then.by["district"]} == dict(independent)
    assert {r.label: r.valid for r in now.by["district"]} == dict.fromkeys(independent, 0)
    assert {r.key: r.ever for r in now.by["year"]} == dict(Counter(str(r.decision_date.year) for r in rows))


def test_importing_the_list_again_changes_nothing(app, nam_dinh_2020):
    _slug, tenant_id, rows = nam_dinh_2020
    with app.app_context(), tenant_scope(tenant_id):
        record = import_submit(certified_list(rows), "nam-dinh-2020.xlsx", None, as_of=AS_OF)
        db.session.commit()
        import_id = record.id
    _work_reports_queue(app)
    with app.app_context(), tenant_scope(tenant_id):
        report = db.session.get(RegistryImport, (tenant_id, import_id)).report
        assert (report["unchanged"], report["created_products"], report["updated_products"]) == (146, 0, 0)
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 146
        assert (certificate_counts(AS_OF).valid, certificate_counts(vietnam_today()).ever) == (146, 146)

"""Set-wise scheduling: ONE statement per tenant plans, moves and cancels the inspections of every
certificate of the province from its policy. Never one job or one query per certificate.

What the statement does, for the day `today`:
- targets: for every certificate valid today, its next routine inspection (period k of `months` months from
  valid_from, k the current period, or the one after when the current one is done), its next sampling
  (products of the sampled groups) and its expiry review (due `expiry_review_days` before valid_to);
- cancels the open (planned/assigned) inspections of certificates no longer valid today (revoked,
  superseded, expired) and the scheduler's open ones the policy no longer asks for (other frequency, group
  no longer sampled): reason `replanned`;
- moves the dates of open scheduler rows of the same period whose dates changed (validity corrected,
  review days changed);
- inserts the missing targets with ON CONFLICT DO NOTHING against the partial unique index, so running it
  twice, or two workers at once, creates each inspection once. A period an officer cancelled by hand
  (`manual`) is not planned again.

Open inspections of an earlier period stay open (they are overdue, not forgotten). Done ones are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from app.core import clock
from app.extensions import db
from app.inspection.policy import SECTOR_1048_TO_GROUP, InspectionRules
from tenants.context import current_tenant_id


@dataclass(frozen=True)
class ScheduleReport:
    created: int
    moved: int
    cancelled: int


def _months_case(rules: InspectionRules, params: dict) -> str:
    """CASE … END giving a certificate's routine months from the rules (first match wins), all values bound."""
    whens = []
    for n, rule in enumerate(rules.rules):
        conditions = []
        if rule.stars:
            params[f"r{n}_stars"] = list(rule.stars)
            conditions.append(f"v.stars = ANY(:r{n}_stars)")
        if rule.score_min is not None:
            params[f"r{n}_min"] = rule.score_min
            conditions.append(f"v.score >= :r{n}_min")
        if rule.score_max is not None:
            params[f"r{n}_max"] = rule.score_max
            conditions.append(f"v.score < :r{n}_max")
        if rule.groups:
            params[f"r{n}_groups"] = list(rule.groups)
            conditions.append(f"v.grp = ANY(:r{n}_groups)")
        params[f"r{n}_months"] = rule.months
        whens.append(f"WHEN {' AND '.join(conditions) or 'true'} THEN :r{n}_months")
    params["default_months"] = rules.default_months
    if not whens:
        return "CAST(:default_months AS integer)"
    return f"(CASE {' '.join(whens)} ELSE :default_months END)::integer"


_SECTORS = " ".join(f"WHEN '{code}' THEN '{group}'" for code, group in SECTOR_1048_TO_GROUP.items())

# The SQL mirror of app.inspection.policy.group_of.
_GROUP = f"""CASE WHEN t.act = '1048/QĐ-TTg' THEN (CASE t.code {_SECTORS} END)
                  WHEN t.code IS NULL THEN NULL ELSE split_part(t.code, '.', 1) END"""

# A certificate valid on :today (the same rule as app/certification/services.certificate_status).
_VALID_TODAY = """(c.valid_from <= :today AND c.valid_to >= :today
      AND (c.revoked_on IS NULL OR c.revoked_on > :today)
      AND (c.superseded_on IS NULL OR c.superseded_on > :today))"""

_STATEMENT = """
WITH valid AS MATERIALIZED (
    SELECT c.id, c.product_id, c.stars, c.score, c.valid_from, c.valid_to, {group} AS grp,
           (extract(year FROM a.age) * 12 + extract(month FROM a.age))::integer AS elapsed  -- whole months
    FROM certificates c
    JOIN products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id
    LEFT JOIN taxonomy_nodes t ON t.id = p.product_set_id
    CROSS JOIN LATERAL (SELECT age(:today, c.valid_from) AS age) a
    WHERE c.tenant_id = :tenant_id AND {valid_today}
),
live AS MATERIALIZED (  -- the tenant's inspections that count: not cancelled, or cancelled by hand
    SELECT i.id, i.certificate_id, i.kind, i.period_key, i.status, i.window_start, i.due_on, i.policy_version
    FROM inspections i
    WHERE i.tenant_id = :tenant_id AND (i.status <> 'cancelled' OR i.cancel_reason = 'manual')
),
periodic AS (
    SELECT v.id, v.product_id, v.valid_from, v.valid_to, 'routine'::text AS kind, {months} AS months, v.elapsed
    FROM valid v
    UNION ALL
    SELECT v.id, v.product_id, v.valid_from, v.valid_to, 'sampling', :sampling_months, v.elapsed
    FROM valid v WHERE v.grp = ANY(:sampling_groups)
),
current AS (
    SELECT p.*, p.months || 'm' AS scheme, p.elapsed / p.months + 1 AS k FROM periodic p
),
next AS (  -- the current period, or the one after it when the current one is done
    SELECT c.id, c.product_id, c.valid_from, c.valid_to, c.kind, c.months, c.scheme,
           c.k + (d.id IS NOT NULL)::integer AS k
    FROM current c
    LEFT JOIN live d
      ON d.certificate_id = c.id AND d.kind = c.kind AND d.period_key = c.scheme || ':' || c.k AND d.status = 'done'
),
targets AS MATERIALIZED (  -- at most one per certificate and kind
    SELECT n.id AS certificate_id, n.product_id, n.kind, n.scheme, n.k,
           n.scheme || ':' || n.k AS period_key,
           (n.valid_from + make_interval(months => (n.k - 1) * n.months))::date AS window_start,
           LEAST((n.valid_from + make_interval(months => n.k * n.months) - interval '1 day')::date, n.valid_to) AS due_on
    FROM next n
    WHERE (n.valid_from + make_interval(months => (n.k - 1) * n.months))::date <= n.valid_to
    UNION ALL
    SELECT v.id, v.product_id, 'expiry_review', 'expiry', 1, 'expiry',
           GREATEST(v.valid_from, v.valid_to - :review_days - 30),
           GREATEST(v.valid_from, v.valid_to - :review_days)
    FROM valid v
),
ended AS (  -- open inspections of certificates not valid today, with the reason
    UPDATE inspections i
    SET status = 'cancelled', cancelled_at = now(), updated_at = now(),
        cancel_reason = CASE
            WHEN c.revoked_on IS NOT NULL AND c.revoked_on <= :today THEN 'revoked'
            WHEN c.superseded_on IS NOT NULL AND c.superseded_on <= :today THEN 'superseded'
            WHEN c.valid_to < :today THEN 'expired'
            ELSE 'replanned' END
    FROM (
        SELECT o.id, o.certificate_id FROM live o
        LEFT JOIN valid v ON v.id = o.certificate_id
        WHERE o.status IN ('planned', 'assigned') AND v.id IS NULL
    ) e
    JOIN certificates c ON c.tenant_id = :tenant_id AND c.id = e.certificate_id
    WHERE i.tenant_id = :tenant_id AND i.id = e.id
    RETURNING 1
),
stale AS (  -- the scheduler's open rows the policy no longer asks for: no target of their kind, another
            -- scheme, or a later period than the target's (earlier ones stay open: overdue, not forgotten)
    UPDATE inspections i
    SET status = 'cancelled', cancel_reason = 'replanned', cancelled_at = now(), updated_at = now()
    FROM (
        SELECT o.id
        FROM live o
        JOIN valid v ON v.id = o.certificate_id
        LEFT JOIN targets t ON t.certificate_id = o.certificate_id AND t.kind = o.kind
        WHERE o.status IN ('planned', 'assigned') AND o.policy_version IS NOT NULL
          AND o.kind IN ('routine', 'sampling', 'expiry_review')
          AND (t.certificate_id IS NULL OR split_part(o.period_key, ':', 1) <> t.scheme
               OR coalesce(NULLIF(split_part(o.period_key, ':', 2), ''), '1')::integer > t.k)
    ) gone
    WHERE i.tenant_id = :tenant_id AND i.id = gone.id
    RETURNING 1
),
moved AS (  -- same period, other dates (validity corrected, review days changed)
    UPDATE inspections i
    SET window_start = m.window_start, due_on = m.due_on, policy_version = :policy_version, updated_at = now()
    FROM (
        SELECT o.id, t.window_start, t.due_on
        FROM live o
        JOIN targets t ON t.certificate_id = o.certificate_id AND t.kind = o.kind AND t.period_key = o.period_key
        WHERE o.status IN ('planned', 'assigned') AND o.policy_version IS NOT NULL
          AND (o.window_start, o.due_on) IS DISTINCT FROM (t.window_start, t.due_on)
    ) m
    WHERE i.tenant_id = :tenant_id AND i.id = m.id
    RETURNING 1
),
created AS (  -- targets with no live row (nor one an officer cancelled by hand); ON CONFLICT covers a race
    INSERT INTO inspections (tenant_id, certificate_id, product_id, kind, period_key, window_start, due_on,
                             status, notes, policy_version)
    SELECT :tenant_id, t.certificate_id, t.product_id, t.kind, t.period_key, t.window_start, t.due_on,
           'planned', '', :policy_version
    FROM targets t
    LEFT JOIN live l ON l.certificate_id = t.certificate_id AND l.kind = t.kind AND l.period_key = t.period_key
    WHERE l.id IS NULL
    ON CONFLICT (tenant_id, certificate_id, kind, period_key) WHERE status <> 'cancelled' DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM created), (SELECT count(*) FROM moved),
       (SELECT count(*) FROM ended) + (SELECT count(*) FROM stale)
"""


def inspection_schedule(
    rules: InspectionRules | None = None, *, policy_version: int | None = None, today: date | None = None
) -> ScheduleReport:
    """Plan, move and cancel the current tenant's inspections in one statement; returns the counts.

    Idempotent: a second run on the same day with the same policy changes nothing. Flushes nothing and
    commits nothing: the caller's transaction (the job wrapper) commits.
    """
    if rules is None or policy_version is None:
        from app.inspection.services import inspection_policy_current

        rules, policy_version = inspection_policy_current()
    params: dict = {
        "tenant_id": current_tenant_id(),
        "today": today or clock.today(),
        "sampling_months": rules.sampling_months,
        "sampling_groups": list(rules.sampling_groups),
        "review_days": rules.expiry_review_days,
        "policy_version": policy_version,
    }
    statement = _STATEMENT.format(group=_GROUP, months=_months_case(rules, params), valid_today=_VALID_TODAY)
    # Every join here is between whole sets of one tenant: hash joins are linear whatever the statistics say
    # (right after a bulk insert they say "empty", and a nested loop over thousands of rows is quadratic).
    # Set for this statement only, then put back.
    # (A failed statement aborts the transaction, whose rollback undoes the setting too.)
    previous = db.session.execute(text("SELECT current_setting('enable_nestloop')")).scalar()
    db.session.execute(text("SELECT set_config('enable_nestloop', 'off', true)"))
    created, moved, cancelled = db.session.execute(text(statement), params).one()
    db.session.execute(text("SELECT set_config('enable_nestloop', :previous, true)"), {"previous": previous})
    return ScheduleReport(created=created, moved=moved, cancelled=cancelled)

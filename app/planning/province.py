"""The planning sections of the province file: policies (with their items), targets, figures, budgets."""

from __future__ import annotations

from flask import Flask

from app.extensions import db
from app.planning.models import Budget, Figure, Policy, PolicyItem, Target
from tenants.sync import SyncReport, register_section, sync_by_code, sync_rows


def _sync_policies(data: dict, report: SyncReport) -> None:
    def row(p):
        return {
            "title": p["title"],
            "act": p.get("act"),
            "issued_on": p.get("issued_on"),
            "valid_from": p.get("valid_from"),
            "valid_to": p.get("valid_to"),
            "summary": p.get("summary", ""),
            "budget_vnd": p.get("budget_vnd"),
        }

    def item_row(i):
        return {
            "title": i["title"],
            "kind": i["kind"],
            "amount_vnd": i.get("amount_vnd"),
            "share_percent": i.get("share_percent"),
            "quantity": i.get("quantity"),
            "unit": i.get("unit"),
        }

    policies = sync_by_code(Policy, data.get("policies", []), row, report, "policies")
    db.session.flush()
    for entry in data.get("policies", []):
        policy = policies[entry["code"]]

        def with_policy(i, policy_id=policy.id):
            return {**item_row(i), "policy_id": policy_id}

        sync_by_code(
            PolicyItem,
            entry.get("items", []),
            with_policy,
            report,
            "policy_items",
            scope=PolicyItem.policy_id == policy.id,
        )


def _sync_targets(data: dict, report: SyncReport) -> None:
    def row(t):
        return {
            "title": t["title"],
            "metric": t["metric"],
            "comparator": t["comparator"],
            "value": t["value"],
            "unit": t["unit"],
            "period_start": t.get("period_start"),
            "deadline": t["deadline"],
            "baseline_value": t.get("baseline_value"),
            "baseline_on": t.get("baseline_on"),
            "source": t.get("source"),
        }

    sync_by_code(Target, data.get("targets", []), row, report, "targets")


def _sync_figures_and_budgets(data: dict, report: SyncReport) -> None:
    sync_rows(
        Figure,
        data.get("figures", []),
        ("on", "metric", "note"),
        lambda f: {
            "on": f["on"],
            "metric": f["metric"],
            "value": f["value"],
            "note": f.get("note"),
            "source": f.get("source"),
        },
        report,
        "figures",
    )
    sync_rows(
        Budget,
        data.get("budgets", []),
        ("year",),
        lambda b: {"year": b["year"], "amount_vnd": b["amount_vnd"], "note": b.get("note"), "source": b.get("source")},
        report,
        "budgets",
    )


def register_province_sections(app: Flask) -> None:
    register_section(app, "policies", lambda tenant, data, report: _sync_policies(data, report))
    register_section(app, "targets", lambda tenant, data, report: _sync_targets(data, report))
    register_section(app, "figures_and_budgets", lambda tenant, data, report: _sync_figures_and_budgets(data, report))

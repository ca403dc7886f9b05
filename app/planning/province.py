"""The planning sections of the province file: policies (with their items), targets, figures, budgets."""

from __future__ import annotations

from flask import Flask

from app.extensions import db
from app.planning.models import Budget, Figure, Policy, PolicyItem, Target
from tenants.sync import SyncReport, entry_fields, register_section, sync_by_code, sync_rows


def _sync_policies(data: dict, report: SyncReport) -> None:
    row = entry_fields("title", optional=("act", "issued_on", "valid_from", "valid_to", "budget_vnd"), summary="")
    item_row = entry_fields(
        "title",
        "kind",
        optional=(
            "amount_vnd",
            "share_percent",
            "quantity",
            "unit",
            "stars",
            "product_group",
            "producer_kinds",
            "applies_to",
            "cap_vnd",
            "budget_line",
        ),
    )
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
    row = entry_fields(
        "title",
        "metric",
        "comparator",
        "value",
        "unit",
        "deadline",
        optional=("period_start", "baseline_value", "baseline_on", "source"),
    )
    sync_by_code(Target, data.get("targets", []), row, report, "targets")


def _sync_figures_and_budgets(data: dict, report: SyncReport) -> None:
    sync_rows(
        Figure,
        data.get("figures", []),
        ("on", "metric", "note"),
        entry_fields("on", "metric", "value", optional=("note", "source")),
        report,
        "figures",
    )
    sync_rows(
        Budget,
        data.get("budgets", []),
        ("year",),
        entry_fields("year", "amount_vnd", optional=("note", "source")),
        report,
        "budgets",
    )


def register_province_sections(app: Flask) -> None:
    register_section(app, "policies", lambda tenant, data, report: _sync_policies(data, report))
    register_section(app, "targets", lambda tenant, data, report: _sync_targets(data, report))
    register_section(app, "figures_and_budgets", lambda tenant, data, report: _sync_figures_and_budgets(data, report))

"""Load provinces/*.toml into the database, idempotently.

A file whose sha256 matches what was last synced is skipped; otherwise every declared row is
upserted by its code, and rows no longer declared are removed. Runs as the app role, inside each
tenant's scope, so RLS and the audit log apply as for any other change.

tenants owns the file format, the tenant's own fields, its units and councils, and this loop. Every
other section of the file (policies, targets, cycle windows, …) is synced by the feature that owns
its tables, registered with `register_section` (from the feature's blueprint); tenants imports no
feature. Each file is one transaction: a broken file is reported and the others still sync.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import func, select

from app.core.acts import DEFAULT_CRITERIA_ACT
from app.core.text import assign, nfc_deep
from app.extensions import db
from tenants.catalogue import POST_REFORM_PREFIX, REFORM_DAY, UNIT_KINDS, catalogue_digest, catalogue_units
from tenants.context import tenant_scope
from tenants.models import UI_COUNCIL_PREFIX, AdminUnit, Council, Tenant

PROVINCES_DIR = Path(__file__).parent / "provinces"
TENANT_FIELDS = ("name", "name_en", "official_code", "standing_agency", "criteria_act", "merged_into", "merged_on")


class DefinitionError(ValueError):
    """A province file is malformed; the message names the file and the entry."""


@dataclass
class SyncReport:
    slug: str
    created: bool = False
    skipped: bool = False
    changes: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # the file could not be synced; nothing of it was written

    def count(self, what: str) -> None:
        self.changes[what] = self.changes.get(what, 0) + 1


def load_definition(path: Path) -> tuple[dict, str]:
    raw = path.read_bytes()
    try:
        data = nfc_deep(tomllib.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DefinitionError(f"{path.name}: {error}") from error
    for key in ("slug", "name", "name_en", "standing_agency"):
        if not data.get(key):
            raise DefinitionError(f"{path.name}: '{key}' is required")
    if data["slug"] != path.stem:
        raise DefinitionError(f"{path.name}: slug '{data['slug']}' must match the file name")
    _check_units(path.name, data.get("units", []))
    _check_councils(path.name, data.get("councils", []))
    official = catalogue_units(data.get("official_code"))
    if official:
        data["units"] = _with_catalogue(official, data.get("units", []))
        _check_units(path.name, data["units"])
        raw += catalogue_digest().encode()  # a new catalogue syncs the province again
    return data, hashlib.sha256(raw).hexdigest()


def _with_catalogue(official: list[dict], declared: list[dict]) -> list[dict]:
    """The official units, then the file's own (units the catalogue lacks, e.g. districts merged before it was
    taken). A unit the file declares is as the file says: a province may keep its own history (Bắc Giang and
    Nam Định keep their 2021 districts and their communes under them)."""
    by_code = {entry["code"]: nfc_deep(dict(entry)) for entry in official}
    for entry in declared:
        by_code[entry["code"]] = {**by_code.get(entry["code"], {}), **entry}
    return list(by_code.values())


# Settings a council entry may leave out (the common provincial rules, DOMAIN.md).
COUNCIL_DEFAULTS = {"quorum_ratio": 0.75, "max_score_spread": 10, "review_days": 15}


def _check_councils(filename: str, councils: list[dict]) -> None:
    for council in councils:
        if str(council.get("code", "")).startswith(UI_COUNCIL_PREFIX):
            raise DefinitionError(
                f"{filename}: council code {council.get('code')!r} may not start with "
                f"{UI_COUNCIL_PREFIX!r} (kept for councils created in the app)"
            )


def _check_units(filename: str, units: list[dict]) -> None:
    codes = [u.get("code") for u in units]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise DefinitionError(f"{filename}: duplicate unit codes {sorted(duplicates)}")
    for unit in units:
        if unit.get("kind") not in UNIT_KINDS:
            raise DefinitionError(f"{filename}: unit {unit.get('code')} has unknown kind {unit.get('kind')!r}")
        if unit.get("parent") and unit["parent"] not in codes:
            raise DefinitionError(f"{filename}: unit {unit['code']} has unknown parent {unit['parent']}")


def _assign(obj, values: dict) -> bool:
    """Set the values that differ; True when anything changed."""
    # Floats are compared and stored as the exact decimal written in the file.
    return assign(obj, {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in values.items()})


def sync_rows(
    model, entries: list[dict], key_fields: tuple[str, ...], to_row, report: SyncReport, what: str, scope=None
) -> dict[tuple, object]:
    """Upsert the declared rows by their natural key and remove the rows no longer declared.

    `scope` limits the rows considered (e.g. one policy's items); returns the rows by key.
    """
    query = select(model) if scope is None else select(model).where(scope)
    existing = {tuple(getattr(row, f) for f in key_fields): row for row in db.session.scalars(query)}
    kept = {}
    for entry in entries:
        values = to_row(entry)
        key = tuple(values[f] for f in key_fields)
        row = existing.pop(key, None)
        if row is None:
            row = model()
            db.session.add(row)
            report.count(f"{what}+")
            _assign(row, values)
        elif _assign(row, values):
            report.count(what)
        kept[key] = row
    for row in existing.values():
        db.session.delete(row)
        report.count(f"{what}-")
    return kept


def entry_fields(*required: str, optional: tuple[str, ...] = (), **defaults) -> Callable[[dict], dict]:
    """A `to_row` that copies keys of a file entry: `required` ones must be there, `optional` ones are None
    when missing, the keyword ones take their default."""

    def to_row(entry: dict) -> dict:
        row = {key: entry[key] for key in required}
        row.update({key: entry.get(key) for key in optional})
        row.update({key: entry.get(key, default) for key, default in defaults.items()})
        return row

    return to_row


def sync_by_code(model, entries, to_row, report, what, scope=None) -> dict[str, object]:
    """sync_rows keyed by each entry's `code`; returns the rows by code."""
    rows = sync_rows(model, entries, ("code",), lambda e: {"code": e["code"], **to_row(e)}, report, what, scope)
    return {key[0]: row for key, row in rows.items()}


def _adopt_post_reform_codes(entries: list[dict]) -> None:
    """A commune synced under its bare post-reform code before the catalogue (whose earlier commune holds that
    code now) moves to its `2025-` code, keeping its id and so every record that refers to it."""
    declared = {entry["code"] for entry in entries}
    existing = {row.code: row for row in db.session.scalars(select(AdminUnit))}
    for code, row in existing.items():
        new_code = POST_REFORM_PREFIX + code
        if row.valid_from == REFORM_DAY and new_code in declared and new_code not in existing:
            row.code = new_code
    db.session.flush()


def _sync_units(data: dict, report: SyncReport) -> None:
    _adopt_post_reform_codes(data.get("units", []))
    fields = entry_fields("name", "kind", optional=("valid_from", "valid_to"))
    units = sync_by_code(
        AdminUnit,
        data.get("units", []),
        lambda u: {**fields(u), "is_sample": bool(u.get("sample", False))},
        report,
        "units",
    )
    db.session.flush()  # ids are needed to link parents
    for entry in data.get("units", []):
        parent = units[entry["parent"]].id if entry.get("parent") else None
        if _assign(units[entry["code"]], {"parent_id": parent}):
            report.count("units")


def _sync_councils(data: dict, report: SyncReport) -> None:
    """The file manages only the councils it declares by code: councils created in the app (code prefix
    UI_COUNCIL_PREFIX, which a file may not use) are never updated or removed by a sync."""
    fields = entry_fields(
        "name",
        "level",
        "dossier_lead_working_days",
        optional=("chair_title", "valid_from", "valid_to"),
        **COUNCIL_DEFAULTS,
    )
    sync_by_code(
        Council,
        data.get("councils", []),
        fields,
        report,
        "councils",
        scope=Council.code.not_like(UI_COUNCIL_PREFIX.replace("_", r"\_") + "%"),
    )


# A section's syncer: (tenant, the whole file's data, report), run inside the tenant's scope.
SectionSyncer = Callable[[Tenant, dict, SyncReport], None]


@dataclass(frozen=True)
class Section:
    name: str
    sync: SectionSyncer


# The sections tenants owns itself, synced first: later sections may refer to units.
OWN_SECTIONS = (
    Section("units", lambda tenant, data, report: _sync_units(data, report)),
    Section("councils", lambda tenant, data, report: _sync_councils(data, report)),
)


def register_section(app: Flask, name: str, sync: SectionSyncer) -> None:
    """A feature contributes the syncer of its section of the province file (in registration order)."""
    sections = app.extensions.setdefault("ocop.province_sections", {})
    if name in sections or name in {section.name for section in OWN_SECTIONS}:
        raise ValueError(f"province file section {name!r} is registered twice")
    sections[name] = Section(name, sync)


def province_sections(app: Flask | None = None) -> list[Section]:
    app = app or current_app
    return [*OWN_SECTIONS, *app.extensions.get("ocop.province_sections", {}).values()]


def sync_file(path: Path, *, force: bool = False) -> SyncReport:
    data, digest = load_definition(path)
    report = SyncReport(slug=data["slug"])
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == data["slug"]))
    if tenant is None:
        tenant = Tenant(slug=data["slug"])
        db.session.add(tenant)
        report.created = True
    elif tenant.definition_sha256 == digest and not force:
        report.skipped = True
        return report
    values = {k: data.get(k) for k in TENANT_FIELDS}
    values["criteria_act"] = data.get("criteria_act") or DEFAULT_CRITERIA_ACT
    if report.created:
        _assign(tenant, values)
        tenant.definition_sha256 = digest
        db.session.flush()
    with tenant_scope(tenant.id):  # an existing tenant row is updated only inside its own scope (RLS)
        if not report.created:
            if _assign(tenant, values):
                report.count("tenant")
            tenant.definition_sha256 = digest
            db.session.flush()
        for section in province_sections():
            section.sync(tenant, data, report)
        # The row's time versions the province's reference data (units…): per-process caches key on it.
        tenant.updated_at = func.now()
        db.session.flush()
    return report


def sync_all(directory: Path = PROVINCES_DIR, *, force: bool = False) -> list[SyncReport]:
    """One transaction per province: a broken file is reported (report.error), left untouched, and
    the other files still sync."""
    reports = []
    for path in sorted(directory.glob("*.toml")):
        try:
            report = sync_file(path, force=force)
            db.session.commit()
        except Exception as error:  # any failure of one file must not stop the others
            db.session.rollback()
            message = str(error) if isinstance(error, DefinitionError) else f"{path.name}: {error!r}"
            report = SyncReport(slug=path.stem, error=message)
        reports.append(report)
    return reports

"""`flask tenants sync`: idempotent, updates edited files, refuses malformed ones."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.planning.models import Target
from tenants.context import Actor, acting_as, tenant_scope
from tenants.models import AdminUnit, Council, Tenant
from tenants.sync import PROVINCES_DIR, DefinitionError, load_definition, sync_all


def test_the_four_provinces_are_loaded_with_their_figures(app, tenants):
    assert {"bac-giang", "ha-tinh", "bac-kan", "nam-dinh"} <= set(tenants)
    with app.app_context():
        with tenant_scope(tenants["bac-giang"]):
            districts = db.session.scalars(select(AdminUnit.name).where(AdminUnit.kind == "district")).all()
            # The file's 2021 districts and Thị xã Chũ (made from Lục Ngạn in 2024) from the official catalogue.
            assert len(districts) == 11 and {"Huyện Lục Ngạn", "Thị xã Chũ"} <= set(districts)
            target = db.session.scalar(select(Target).where(Target.metric == "certified_products"))
            assert target.value == 310
        with tenant_scope(tenants["ha-tinh"]):
            assert (
                db.session.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.kind == "district")) == 13
            )


def test_second_sync_changes_nothing(app):
    with app.app_context(), acting_as(Actor("system", None, "test")):
        assert all(report.skipped for report in sync_all())
        forced = sync_all(force=True)
        assert all(not report.skipped and report.changes == {} for report in forced)


def test_cli_sync_reports_unchanged(app):
    result = app.test_cli_runner().invoke(args=["tenants", "sync"])
    assert result.exit_code == 0
    assert "bac-giang: unchanged" in result.output


def test_an_edited_file_updates_the_tenant(app, tmp_path):
    directory = tmp_path / "provinces"
    directory.mkdir()
    source = (PROVINCES_DIR / "nam-dinh.toml").read_text(encoding="utf-8")
    edited = source.replace('standing_agency = "', 'standing_agency = "(đã sửa) ', 1)
    edited += (
        '\n[[councils]]\ncode = "them-moi"\nname = "Hội đồng thêm mới"\nlevel = "province"\n'
        "quorum_ratio = 0.75\nmax_score_spread = 10\ndossier_lead_working_days = 3\n"
    )
    (directory / "nam-dinh.toml").write_text(edited, encoding="utf-8")
    with app.app_context(), acting_as(Actor("system", None, "test")):
        (report,) = sync_all(directory)
        assert report.changes == {"tenant": 1, "councils+": 1}
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "nam-dinh"))
        assert tenant.standing_agency.startswith("(đã sửa) ")
        with tenant_scope(tenant.id):
            assert db.session.scalar(select(Council).where(Council.code == "them-moi")).dossier_lead_working_days == 3
        # Restoring the original file removes what it no longer declares.
        shutil.copy(PROVINCES_DIR / "nam-dinh.toml", directory / "nam-dinh.toml")
        (report,) = sync_all(directory)
        assert report.changes == {"tenant": 1, "councils-": 1}


def test_malformed_files_are_refused_with_the_reason(tmp_path):
    bad = tmp_path / "tinh-loi.toml"
    bad.write_text('slug = "tinh-khac"\nname = "x"\nname_en = "x"\nstanding_agency = "x"\n', encoding="utf-8")
    with pytest.raises(DefinitionError, match="must match the file name"):
        load_definition(bad)
    bad.write_text(
        'slug = "tinh-loi"\nname = "x"\nname_en = "x"\nstanding_agency = "x"\n'
        '[[units]]\ncode = "a"\nname = "A"\nkind = "xa"\nsample = true\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError, match="unknown kind"):
        load_definition(bad)
    bad.write_text("slug = ", encoding="utf-8")
    with pytest.raises(DefinitionError, match="tinh-loi.toml"):
        load_definition(bad)


def test_province_files_are_nfc(tmp_path):
    import unicodedata

    for path in PROVINCES_DIR.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        assert unicodedata.normalize("NFC", text) == text, path.name


def test_reference_lists_export_to_excel(officer_login):
    from io import BytesIO

    from openpyxl import load_workbook

    client, _uid, _email = officer_login("bac-kan")
    units = list(
        load_workbook(BytesIO(client.get("/bac-kan/units/export.xlsx").data)).active.iter_rows(values_only=True)
    )
    assert ("Huyện Ba Bể" in {row[1] for row in units}) and len(units) == 209  # header + the catalogue's 8 + 108 + 92
    policies = client.get("/bac-kan/policies/export.xlsx")
    rows = list(load_workbook(BytesIO(policies.data)).active.iter_rows(values_only=True))
    assert any(row[4] for row in rows[1:])  # Phụ lục 1 support items are listed under their policy


def test_a_broken_file_is_reported_and_the_others_still_sync(app, tmp_path):
    directory = tmp_path / "provinces"
    directory.mkdir()
    source = (PROVINCES_DIR / "nam-dinh.toml").read_text(encoding="utf-8")
    (directory / "nam-dinh.toml").write_text(
        source.replace('standing_agency = "', 'standing_agency = "(bản sửa) ', 1), encoding="utf-8"
    )
    shutil.copy(PROVINCES_DIR / "bac-kan.toml", directory / "bac-kan.toml")
    # Sorted before nam-dinh: the loop must go on past it.
    (directory / "ha-tinh.toml").write_text("slug = ", encoding="utf-8")
    try:
        result = app.test_cli_runner().invoke(args=["tenants", "sync", "--directory", str(directory)])
        assert result.exit_code == 1
        assert "ha-tinh: error: ha-tinh.toml" in result.output
        assert "1 province file(s) not synced: ha-tinh" in result.output
        assert "bac-kan: unchanged" in result.output
        assert "nam-dinh: updated (tenant 1)" in result.output
        with app.app_context():
            tenants = {t.slug: t for t in db.session.scalars(select(Tenant))}
            assert tenants["nam-dinh"].standing_agency.startswith("(bản sửa) ")
            assert not tenants["ha-tinh"].standing_agency.startswith("(bản sửa) ")
    finally:
        with app.app_context(), acting_as(Actor("system", None, "test")):
            (restored,) = sync_all(_only(tmp_path, "nam-dinh"))
            assert restored.error is None and restored.changes == {"tenant": 1}


def _only(tmp_path, slug):
    directory = tmp_path / f"only-{slug}"
    directory.mkdir()
    shutil.copy(PROVINCES_DIR / f"{slug}.toml", directory / f"{slug}.toml")
    return directory


def test_features_register_their_sections_of_the_province_file(app):
    from tenants.sync import province_sections

    with app.app_context():
        assert [section.name for section in province_sections()] == [
            "units",
            "councils",
            "policies",
            "targets",
            "figures_and_budgets",
            "inspection",
            "cycle",
            "notices",
        ]


def test_the_notices_section_sets_the_reminder_days_and_refuses_later_than_30(app, tmp_path):
    from app.notices.services import expiry_reminder_days

    source = (PROVINCES_DIR / "bac-kan.toml").read_text(encoding="utf-8")
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir(), bad.mkdir()
    (good / "bac-kan.toml").write_text(source + "\n[notices]\nexpiry_reminder_days = [60, 45]\n", encoding="utf-8")
    (bad / "bac-kan.toml").write_text(source + "\n[notices]\nexpiry_reminder_days = [60, 20]\n", encoding="utf-8")
    try:
        with app.app_context(), acting_as(Actor("system", None, "test")):
            (report,) = sync_all(good)
            assert report.error is None and report.changes == {"notices": 1}
            tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == "bac-kan"))
            with tenant_scope(tenant_id):
                assert expiry_reminder_days() == (60, 45)
            (report,) = sync_all(bad)
            assert "expiry_reminder_days" in report.error and "30" in report.error
            with tenant_scope(tenant_id):
                assert expiry_reminder_days() == (60, 45)  # the broken file changed nothing
    finally:
        with app.app_context(), acting_as(Actor("system", None, "test")):
            (restored,) = sync_all(_only(tmp_path, "bac-kan"))
            assert restored.error is None and restored.changes == {"notices": 1}
        with app.app_context(), tenant_scope(tenant_id):
            assert expiry_reminder_days() == (90, 60, 30)


def test_sync_keeps_councils_made_in_the_app_and_reads_optional_settings(app, tmp_path):
    """The file manages only its own council codes: a council created in the app (code 'ui-…') is neither
    updated nor removed by a sync; review_days, quorum_ratio and max_score_spread are read when present."""
    directory = tmp_path / "provinces"
    directory.mkdir()
    source = (PROVINCES_DIR / "nam-dinh.toml").read_text(encoding="utf-8")
    (directory / "nam-dinh.toml").write_text(
        source + '\n[[councils]]\ncode = "them-moi"\nname = "Hội đồng thêm mới"\nlevel = "district"\n'
        "dossier_lead_working_days = 3\nreview_days = 30\nmax_score_spread = 8.5\n",
        encoding="utf-8",
    )
    with app.app_context(), acting_as(Actor("system", None, "test")):
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == "nam-dinh"))
        with tenant_scope(tenant_id):
            made = Council(
                code="ui-test0001",
                name="Hội đồng tạo trên web",
                level="district",
                quorum_ratio=1,
                max_score_spread=5,
                dossier_lead_working_days=1,
                review_days=9,
            )
            db.session.add(made)
            db.session.commit()
        try:
            (report,) = sync_all(directory)
            assert report.changes == {"councils+": 1}
            with tenant_scope(tenant_id):
                added = db.session.scalar(select(Council).where(Council.code == "them-moi"))
                assert (added.review_days, added.max_score_spread, added.quorum_ratio) == (30, 8.5, 0.75)
                kept = db.session.scalar(select(Council).where(Council.code == "ui-test0001"))
                assert (kept.name, kept.review_days, kept.quorum_ratio) == ("Hội đồng tạo trên web", 9, 1)
            shutil.copy(PROVINCES_DIR / "nam-dinh.toml", directory / "nam-dinh.toml")
            (report,) = sync_all(directory)
            assert report.changes == {"councils-": 1}
            with tenant_scope(tenant_id):
                assert db.session.scalar(select(Council).where(Council.code == "ui-test0001")) is not None
        finally:
            with tenant_scope(tenant_id):
                db.session.delete(db.session.scalar(select(Council).where(Council.code == "ui-test0001")))
                db.session.commit()


def test_a_file_may_not_use_the_code_prefix_of_app_councils(tmp_path):
    bad = tmp_path / "tinh-loi.toml"
    bad.write_text(
        'slug = "tinh-loi"\nname = "x"\nname_en = "x"\nstanding_agency = "x"\n'
        '[[councils]]\ncode = "ui-1"\nname = "A"\nlevel = "province"\ndossier_lead_working_days = 2\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError, match="may not start with 'ui-'"):
        load_definition(bad)

"""Issue 12, item 4: a small workbook that inflates to hundreds of MiB is refused within a memory bound,
and an import whose worker keeps dying is given up after a set number of attempts."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest

from app.exchange import services
from app.exchange.reader import WorkbookError, read_table
from app.exchange.template import import_template
from app.extensions import db
from app.registry.models import RegistryImport
from tenants.context import tenant_scope

MIB = 1024 * 1024


def _template(app) -> bytes:
    with app.app_context():
        return import_template()


def _bomb(app, inflated: int = 256 * MIB) -> bytes:
    """The import template with its shared strings replaced by one string of `inflated` bytes."""
    template = _template(app)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != "xl/sharedStrings.xml":
                out.writestr(item, source.read(item))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"')
            member.write(b' count="1" uniqueCount="1"><si><t>')
            block = b"A" * (4 * MIB)
            for _ in range(inflated // len(block)):
                member.write(block)
            member.write(b"</t></si></sst>")
    return buffer.getvalue()


def test_a_workbook_bomb_is_refused_within_a_memory_bound(app):
    data = _bomb(app)
    assert len(data) < 1 * MIB  # 256 MiB of text in a file smaller than one
    tracemalloc.start()
    try:
        with app.test_request_context(), pytest.raises(WorkbookError, match="giải nén ra quá lớn"):
            read_table(io.BytesIO(data))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * MIB, peak  # the file itself, a chunk or two — never the inflated text


def _submit(app, tenant_id, data: bytes) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        record = services.import_submit(data, "bom.xlsx", None)
        db.session.commit()
        return record.id


def _run(app, tenant_id, import_id):
    with app.app_context(), tenant_scope(tenant_id):
        services.import_run(import_id)
        db.session.commit()
        record = db.session.get(RegistryImport, (tenant_id, import_id))
        return record.status, record.error


def test_the_bomb_fails_the_import_with_a_message(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    import_id = _submit(app, tenant_id, _bomb(app))
    status, error = _run(app, tenant_id, import_id)
    assert status == "failed" and "giải nén ra quá lớn" in error


def test_an_import_whose_worker_keeps_dying_is_given_up(app, fresh_tenant, monkeypatch):
    tenant_id, _slug = fresh_tenant
    import_id = _submit(app, tenant_id, _template(app))

    def killed(*args, **kwargs):
        raise MemoryError("the work-horse was killed")  # what a dead worker leaves: the import still queued

    monkeypatch.setattr(services, "import_workbook", killed)
    for _attempt in range(services.MAX_IMPORT_ATTEMPTS):
        with pytest.raises(MemoryError):
            _run(app, tenant_id, import_id)
        with app.app_context(), tenant_scope(tenant_id):
            db.session.rollback()
            assert db.session.get(RegistryImport, (tenant_id, import_id)).status == "queued"
    # The reconciler's next run: given up, with a clear status, without opening the file again.
    status, error = _run(app, tenant_id, import_id)
    assert status == "failed" and f"sau {services.MAX_IMPORT_ATTEMPTS} lần thử" in error

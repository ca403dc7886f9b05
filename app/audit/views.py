"""Province admins browse the audit log of their province. There is no route that changes it."""

from flask import g, render_template, request
from flask_babel import gettext as _

from app.audit.forms import AuditFilterForm
from app.audit.labels import action_label, entity_label, field_label, record_label, record_names
from app.audit.models import AuditEntry
from app.audit.services import audit_entities, audit_query
from app.auth.policy import permission_required
from app.core.access import get_or_404
from app.core.excel import xlsx_response
from app.core.pagination import paginate
from app.extensions import db
from tenants.resolution import tenant_blueprint

LABELS = {"action_label": action_label, "field_label": field_label, "record_label": record_label}

bp = tenant_blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")


EXPORT_LIMIT = 50_000


def _filtered():
    form = AuditFilterForm(request.args)
    form.entity.choices = [("", _("Tất cả"))] + [(e, entity_label(e)) for e in audit_entities()]
    filters = {}
    if form.validate():
        filters = {
            "entity": form.entity.data or None,
            "action": form.action.data or None,
            "actor": form.actor.data or None,
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
        }
    return form, audit_query(**filters)


@bp.route("/")
@permission_required("audit.view")
def index():
    form, query = _filtered()
    page = paginate(query, scalars=True, keyset=True)
    return render_template("audit/index.html", form=form, page=page, names=record_names(page.items), **LABELS)


@bp.route("/export.xlsx")
@permission_required("audit.view")
def export():
    _form, query = _filtered()
    # Read in chunks (yield_per); held as a list because the records' names are looked up in one query.
    entries = list(db.session.scalars(query.limit(EXPORT_LIMIT).execution_options(yield_per=1000)))
    headers = [_("Thời điểm"), _("Người thực hiện"), _("Thao tác"), _("Dữ liệu"), _("Mã bản ghi"), _("Thay đổi")]
    names = record_names(entries)
    rows = (
        (
            e.at,
            e.actor_label,
            action_label(e.action),
            record_label(e.entity, e.entity_id, names),
            e.entity_id,
            "; ".join(f"{field_label(k)}: {v[0]} → {v[1]}" for k, v in (e.changes or {}).items()),
        )
        for e in entries
    )
    return xlsx_response(f"nhat-ky-{g.tenant.slug}.xlsx", _("Nhật ký"), headers, rows)


@bp.route("/<int:audit_id>")
@permission_required("audit.view")
def show(audit_id):
    entry = get_or_404(AuditEntry, audit_id)
    return render_template("audit/show.html", entry=entry, names=record_names([entry]), **LABELS)

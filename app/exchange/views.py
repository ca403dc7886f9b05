"""Importing producers and products from the provinces' Excel layout (one row per product).

The upload is kept in storage and imported by a job; the page follows its progress and then shows
the row-by-row report.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from wtforms import DateField, ValidationError
from wtforms.validators import Optional

from app.auth.policy import permission_required
from app.certification import services as certification
from app.certification.views import certificates_search
from app.core import clock
from app.core.access import get_or_404
from app.core.excel import xlsx_response
from app.core.forms import BaseForm
from app.exchange.export import (
    EXPORT_HEADERS,
    certificate_export_headers,
    certificate_export_rows,
    export_rows,
    producers_with_products,
)
from app.exchange.reader import WorkbookError
from app.exchange.services import XLSX, import_progress, import_submit
from app.exchange.template import import_template
from app.extensions import db
from app.registry import services as registry
from app.registry.models import RegistryImport
from app.registry.search import search_form
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("exchange", __name__, template_folder="templates")
EXPORT_LIMIT = 100_000


class ImportForm(BaseForm):
    workbook = FileField(validators=[FileRequired(), FileAllowed(["xlsx"])])
    # The date the list describes (a 2020 list is not "now"); a "Tính đến ngày" column in the file wins.
    as_of = DateField(_l("Số liệu tính đến ngày"), validators=[Optional()])

    def validate_as_of(self, field):
        if field.data and not (date(2000, 1, 1) <= field.data <= clock.today()):
            raise ValidationError(_("Ngày phải từ 01/01/2000 đến hôm nay."))


@bp.route("/producers/import/", methods=["GET", "POST"])
@permission_required("registry.import")
def start():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.workbook.data
        try:
            record = import_submit(upload.read(), upload.filename or "import.xlsx", current_user.id, form.as_of.data)
        except WorkbookError as error:
            db.session.rollback()
            form.workbook.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã nhận tệp %(name)s; đang nhập.", name=record.filename), "success")
            return redirect(url_for("exchange.show", import_id=record.id))
    recent = db.session.scalars(select(RegistryImport).order_by(RegistryImport.created_at.desc()).limit(10)).all()
    return render_template("exchange/import.html", form=form, recent=recent)


@bp.route("/producers/import/<int:import_id>")
@permission_required("registry.import")
def show(import_id):
    record = get_or_404(RegistryImport, import_id)
    return render_template("exchange/import_status.html", record=record, progress=import_progress(record))


@bp.route("/producers/import/template.xlsx")
@permission_required("registry.import")
def template():
    return current_app.response_class(
        import_template(),
        mimetype=XLSX,
        headers={"Content-Disposition": 'attachment; filename="mau-nhap-san-pham-ocop.xlsx"'},
    )


@bp.route("/producers/export.xlsx")
@permission_required("registry.view")
def producers_export():
    form = search_form()
    items = registry.producers_search(form.q.data or "", form.kind.data or "", form.unit_id.data)
    rows = export_rows(producers_with_products(items))
    return xlsx_response(f"chu-the-{g.tenant.slug}.xlsx", _("Chủ thể"), EXPORT_HEADERS, rows)


@bp.route("/products/export.xlsx")
@permission_required("registry.view")
def products_export():
    form = search_form()
    rows = registry.products_search(
        form.q.data or "",
        form.product_set_id.data,
        form.unit_id.data,
        stars=form.stars.data,
        group_id=form.group_id.data,
    )
    data = export_rows(rows)
    return xlsx_response(f"san-pham-{g.tenant.slug}.xlsx", _("Sản phẩm"), EXPORT_HEADERS, data)


@bp.route("/certificates/export.xlsx")
@permission_required("certificate.view")
def certificates_export():
    """The certificates list (filters and day of the list page) in the import layout: it re-imports unchanged."""
    _form, filters, on = certificates_search()
    found = db.session.execute(certification.certificates_query(**filters).limit(EXPORT_LIMIT)).all()
    rows = certificate_export_rows(certification.certificate_rows(found, on))
    headers = certificate_export_headers(on)
    return xlsx_response(f"giay-chung-nhan-{g.tenant.slug}.xlsx", _("Giấy chứng nhận"), headers, rows)

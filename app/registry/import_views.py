"""Importing producers and products from the provinces' Excel layout (one row per product)."""
from __future__ import annotations

from flask import current_app, flash, render_template
from flask_babel import gettext as _
from flask_wtf.file import FileAllowed, FileField, FileRequired

from app.auth.roles import PROVINCE_ADMIN, PROVINCE_OFFICER
from app.core.access import roles_required
from app.core.forms import BaseForm
from app.extensions import db
from app.registry import importer
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("registry_import", __name__, url_prefix="/producers/import", template_folder="templates")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(BaseForm):
    workbook = FileField(validators=[FileRequired(), FileAllowed(["xlsx"])])


@bp.route("/", methods=["GET", "POST"])
@roles_required(PROVINCE_ADMIN, PROVINCE_OFFICER)
def start():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        try:
            report = importer.import_workbook(form.workbook.data.stream)
        except importer.WorkbookError as error:
            db.session.rollback()
            form.workbook.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã nhập xong tệp %(name)s.", name=form.workbook.data.filename), "success")
    return render_template("registry/import.html", form=form, report=report)


@bp.route("/template.xlsx")
@roles_required(PROVINCE_ADMIN, PROVINCE_OFFICER)
def template():
    return current_app.response_class(
        importer.import_template(), mimetype=XLSX,
        headers={"Content-Disposition": 'attachment; filename="mau-nhap-san-pham-ocop.xlsx"'},
    )

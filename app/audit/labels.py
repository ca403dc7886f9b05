"""Human words for the audit log: what was done, to which record (with its name) and which fields, in the UI's
language, instead of table and column names."""

from __future__ import annotations

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db

ACTION_LABELS = {"create": _l("Tạo mới"), "update": _l("Sửa"), "delete": _l("Xóa")}

ENTITY_LABELS = {
    "admin_units": _l("Đơn vị hành chính"),
    "application_documents": _l("Tài liệu của hồ sơ"),
    "application_events": _l("Lịch sử hồ sơ"),
    "applications": _l("Hồ sơ"),
    "audit_log": _l("Nhật ký"),
    "budgets": _l("Kinh phí"),
    "certificates": _l("Giấy chứng nhận"),
    "conflict_declarations": _l("Khai báo xung đột lợi ích"),
    "council_members": _l("Thành viên hội đồng"),
    "council_rounds": _l("Phiên đánh giá"),
    "councils": _l("Hội đồng"),
    "criteria_templates": _l("Bộ tiêu chí"),
    "cycles": _l("Chu trình"),
    "documents": _l("Tài liệu"),
    "evaluation_rounds": _l("Đợt đánh giá"),
    "figures": _l("Số liệu báo cáo"),
    "policies": _l("Chính sách"),
    "policy_items": _l("Nội dung chính sách"),
    "producers": _l("Chủ thể"),
    "products": _l("Sản phẩm"),
    "registry_imports": _l("Nhập Excel"),
    "review_requests": _l("Đề nghị xem xét lại"),
    "round_products": _l("Sản phẩm trong đợt"),
    "score_sheets": _l("Phiếu chấm"),
    "targets": _l("Mục tiêu"),
    "users": _l("Người dùng"),
}

FIELD_LABELS = {
    "act": _l("Văn bản tiêu chí"),
    "action": _l("Thao tác"),
    "active": _l("Đang hoạt động"),
    "actor_id": _l("Mã người thực hiện"),
    "actor_kind": _l("Loại người thực hiện"),
    "actor_label": _l("Người thực hiện"),
    "address": _l("Địa chỉ"),
    "amount_vnd": _l("Số tiền (đồng)"),
    "annual_output": _l("Sản lượng năm"),
    "answer": _l("Trả lời"),
    "answered_at": _l("Thời điểm trả lời"),
    "answered_by": _l("Người trả lời"),
    "application_id": _l("Hồ sơ"),
    "as_of": _l("Số liệu tính đến"),
    "at": _l("Thời điểm"),
    "attempt": _l("Lần chấm"),
    "authority": _l("Cấp công nhận"),
    "baseline_on": _l("Ngày số liệu gốc"),
    "baseline_value": _l("Số liệu gốc"),
    "budget_vnd": _l("Kinh phí (đồng)"),
    "business_plan": _l("Phương án kinh doanh"),
    "capacity": _l("Công suất"),
    "capital_vnd": _l("Vốn (đồng)"),
    "certificate_id": _l("Giấy chứng nhận"),
    "chair_title": _l("Chức danh chủ tịch hội đồng"),
    "changes": _l("Thay đổi"),
    "closed_at": _l("Thời điểm đóng"),
    "code": _l("Mã"),
    "comparator": _l("Phép so sánh"),
    "confirmed_at": _l("Thời điểm xác nhận"),
    "conflicted": _l("Xung đột lợi ích"),
    "content_type": _l("Loại tệp"),
    "council_id": _l("Hội đồng"),
    "created_by": _l("Người tạo"),
    "criteria": _l("Tiêu chí"),
    "criteria_means": _l("Điểm trung bình theo tiêu chí"),
    "cycle_id": _l("Chu trình"),
    "deadline": _l("Hạn"),
    "decision_authority": _l("Cơ quan quyết định"),
    "decision_date": _l("Ngày quyết định"),
    "decision_number": _l("Số quyết định"),
    "declared_at": _l("Thời điểm khai"),
    "declared_size": _l("Dung lượng khai"),
    "document_id": _l("Tài liệu"),
    "dossier_lead_working_days": _l("Số ngày làm việc nhận hồ sơ trước"),
    "dossiers_from": _l("Nộp hồ sơ từ"),
    "dossiers_until": _l("Nộp hồ sơ đến"),
    "email": _l("Email"),
    "entity": _l("Dữ liệu"),
    "entity_id": _l("Mã bản ghi"),
    "error": _l("Lỗi"),
    "export_countries": _l("Thị trường xuất khẩu"),
    "filename": _l("Tên tệp"),
    "finished_at": _l("Thời điểm xong"),
    "flags": _l("Đánh dấu"),
    "from_status": _l("Trạng thái trước"),
    "full_name": _l("Họ và tên"),
    "idea_summary": _l("Ý tưởng sản phẩm"),
    "ideas_from": _l("Nhận ý tưởng từ"),
    "ideas_until": _l("Nhận ý tưởng đến"),
    "invite_expires_at": _l("Lời mời hết hạn lúc"),
    "invite_token_hash": _l("Mã lời mời"),
    "is_sample": _l("Dữ liệu mẫu"),
    "issued_on": _l("Ngày cấp"),
    "kind": _l("Loại"),
    "land_area_m2": _l("Diện tích đất (m²)"),
    "last_reason": _l("Lý do trả lại gần nhất"),
    "level": _l("Cấp"),
    "locale": _l("Ngôn ngữ"),
    "markets": _l("Thị trường"),
    "max_score_spread": _l("Chênh lệch điểm tối đa"),
    "mean_score": _l("Điểm trung bình"),
    "meeting_on": _l("Ngày họp"),
    "member_id": _l("Thành viên hội đồng"),
    "members": _l("Số thành viên"),
    "metric": _l("Chỉ tiêu"),
    "ministry_decision_date": _l("Ngày quyết định của Bộ"),
    "ministry_decision_number": _l("Số quyết định của Bộ"),
    "ministry_outcome": _l("Kết quả của Bộ"),
    "name": _l("Tên"),
    "note": _l("Ghi chú"),
    "on": _l("Ngày"),
    "original_filename": _l("Tên tệp gốc"),
    "other_units": _l("Các xã khác"),
    "outcome": _l("Kết quả"),
    "output_unit": _l("Đơn vị sản lượng"),
    "parent_id": _l("Trực thuộc"),
    "part_scores": _l("Điểm các phần"),
    "password_hash": _l("Mật khẩu"),
    "period_start": _l("Đầu kỳ"),
    "phone": _l("Điện thoại"),
    "plans_from": _l("Nhận phương án từ"),
    "plans_until": _l("Nhận phương án đến"),
    "points": _l("Điểm"),
    "policy_id": _l("Chính sách"),
    "producer_id": _l("Chủ thể"),
    "product_group": _l("Nhóm sản phẩm"),
    "product_id": _l("Sản phẩm"),
    "product_set_id": _l("Bộ sản phẩm"),
    "public_code": _l("Mã tra cứu công khai"),
    "quantity": _l("Số lượng"),
    "quorum_ratio": _l("Tỷ lệ tối thiểu có mặt"),
    "raw_material_area": _l("Vùng nguyên liệu"),
    "reason": _l("Lý do"),
    "registration_no": _l("Mã số đăng ký kinh doanh"),
    "reject_reason": _l("Lý do từ chối"),
    "remote_addr": _l("Địa chỉ IP"),
    "report": _l("Báo cáo"),
    "representative": _l("Người đại diện"),
    "requested_at": _l("Thời điểm đề nghị"),
    "requested_by": _l("Người đề nghị"),
    "requirement": _l("Yêu cầu hồ sơ"),
    "review_days": _l("Số ngày được đề nghị xem xét lại"),
    "revoke_decision_number": _l("Số quyết định thu hồi"),
    "revoke_reason": _l("Lý do thu hồi"),
    "revoked_on": _l("Ngày thu hồi"),
    "role": _l("Vai trò"),
    "roles": _l("Vai trò"),
    "round_id": _l("Đợt đánh giá"),
    "round_product_id": _l("Sản phẩm trong đợt"),
    "score": _l("Điểm"),
    "screening_level": _l("Cấp sơ duyệt"),
    "session_version": _l("Phiên đăng nhập"),
    "sha256": _l("Mã băm SHA-256"),
    "share_percent": _l("Tỷ lệ (%)"),
    "size": _l("Dung lượng"),
    "source": _l("Nguồn"),
    "stars": _l("Hạng sao"),
    "status": _l("Trạng thái"),
    "storage_key": _l("Khóa lưu trữ"),
    "submitted_at": _l("Thời điểm nộp"),
    "summary": _l("Tóm tắt"),
    "superseded_by_id": _l("Được thay bằng"),
    "superseded_on": _l("Ngày được thay"),
    "target_stars": _l("Hạng sao đề nghị"),
    "term_from": _l("Nhiệm kỳ từ"),
    "term_to": _l("Nhiệm kỳ đến"),
    "title": _l("Tiêu đề"),
    "to_status": _l("Trạng thái sau"),
    "total": _l("Tổng"),
    "traceability": _l("Truy xuất nguồn gốc"),
    "trademark_status": _l("Tình trạng nhãn hiệu"),
    "unit": _l("Đơn vị tính"),
    "unit_id": _l("Xã/phường"),
    "uploaded_by": _l("Người tải lên"),
    "user_id": _l("Người dùng"),
    "valid_from": _l("Hiệu lực từ"),
    "valid_to": _l("Hiệu lực đến"),
    "valid_until": _l("Hiệu lực đến"),
    "value": _l("Giá trị"),
    "verified_at": _l("Thời điểm kiểm tra"),
    "verify_attempts": _l("Số lần kiểm tra"),
    "workforce": _l("Số lao động"),
    "year": _l("Năm"),
}

# The column that names a record, first found (a user by full name, a certificate by decision number, …).
NAME_COLUMNS = ("name", "full_name", "decision_number", "original_filename", "title", "code", "email")


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def entity_label(entity: str) -> str:
    return str(ENTITY_LABELS.get(entity, entity))


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field.replace("_", " ")))


def _name_column(entity: str):
    table = db.metadata.tables.get(entity)
    if table is None:
        return None, None
    return table, next((table.c[name] for name in NAME_COLUMNS if name in table.c), None)


def record_names(entries) -> dict[tuple[str, int], str]:
    """(entity, id) → the record's name: read from the record (RLS keeps it to this province), or from the
    entry itself for a record deleted since."""
    names: dict[tuple[str, int], str] = {}
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        for column in NAME_COLUMNS:
            before_after = (entry.changes or {}).get(column)
            if before_after and (before_after[1] or before_after[0]):
                names[(entry.entity, entry.entity_id)] = str(before_after[1] or before_after[0])
                break
        wanted[entry.entity].add(entry.entity_id)
    for entity, ids in wanted.items():
        table, column = _name_column(entity)
        if column is None:
            continue
        rows = db.session.execute(select(table.c.id, column).where(table.c.id.in_(ids))).all()
        names.update({(entity, row_id): str(name) for row_id, name in rows if name})
    return names


def record_label(entity: str, entity_id: int, names: dict) -> str:
    """'Người dùng “Nguyễn Văn An”', or 'Người dùng #8' for a record without a name."""
    name = names.get((entity, entity_id))
    return f"{entity_label(entity)} “{name}”" if name else f"{entity_label(entity)} #{entity_id}"

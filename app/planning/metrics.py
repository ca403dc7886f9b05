"""The controlled vocabulary of target and figure metrics, with their labels."""

from flask_babel import lazy_gettext as _l

METRIC_LABELS = {
    "certified_products": _l("Sản phẩm OCOP được công nhận"),
    "certified_products_3_star": _l("Sản phẩm 3 sao"),
    "certified_products_4_star": _l("Sản phẩm 4 sao"),
    "certified_products_5_star": _l("Sản phẩm 5 sao"),
    "valid_certificates": _l("Sản phẩm còn hiệu lực chứng nhận"),
    "new_products": _l("Sản phẩm mới được công nhận"),
    "upgraded_products": _l("Sản phẩm nâng hạng"),
    "producers": _l("Chủ thể OCOP"),
    "producers_htx": _l("Chủ thể là hợp tác xã"),
    "producers_enterprise": _l("Chủ thể là doanh nghiệp"),
    "producers_coop_group": _l("Chủ thể là tổ hợp tác"),
    "producers_household": _l("Chủ thể là hộ sản xuất, kinh doanh"),
    "producers_htx_sme_percent": _l("Tỷ lệ chủ thể là HTX/doanh nghiệp nhỏ và vừa (%)"),
    "green_value_chain_percent": _l("Tỷ lệ chủ thể có chuỗi giá trị xanh, tuần hoàn (%)"),
    "traceability_percent": _l("Tỷ lệ sản phẩm có truy xuất nguồn gốc (%)"),
    "digital_platform_percent": _l("Tỷ lệ sản phẩm trên nền tảng số (%)"),
    "trained_percent": _l("Tỷ lệ cán bộ, chủ thể được tập huấn (%)"),
    "tourism_products": _l("Sản phẩm du lịch cộng đồng"),
    "trademarks_gi": _l("Nhãn hiệu tập thể, chỉ dẫn địa lý"),
    "economic_organisations": _l("Tổ chức kinh tế tham gia"),
    "communes_with_products": _l("Xã có sản phẩm OCOP"),
    "sales_points": _l("Điểm giới thiệu, bán sản phẩm"),
    "exporting_products": _l("Sản phẩm xuất khẩu"),
    "other": _l("Chỉ số khác"),
}


def metric_label(metric: str) -> str:
    return str(METRIC_LABELS.get(metric, metric))

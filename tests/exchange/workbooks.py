"""Workbooks shaped like the provinces' own lists, for import tests (and the counts tests).

`certified_list()` builds a list "as of" a date with certified products (default: Nam Định at
31/12/2020, 146 products = 118 3★ + 28 4★ recognised in 2019–2020), spread over the province's
communes, with the districts written without their prefix as provinces do ("Ý Yên").
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from openpyxl import Workbook

from tenants.sync import PROVINCES_DIR

CERTIFIED_HEADERS = [
    "STT",
    "Tên sản phẩm",
    "Bộ sản phẩm",
    "Tên chủ thể",
    "Loại hình chủ thể",
    "Xã/phường",
    "Huyện",
    "Hạng sao",
    "Điểm",
    "Số quyết định công nhận",
    "Ngày quyết định",
    "Cơ quan công nhận",
]
PRODUCT_PLACE_HEADERS = ["Xã/phường nơi sản xuất", "Huyện nơi sản xuất"]
SET_CODES = ("I.1.1", "I.1.2", "I.2.1", "I.3.1", "II.1.1", "I.5.1")


@dataclass(frozen=True)
class CertifiedRow:
    product: str
    producer: str
    commune: str  # as in the province file
    commune_code: str
    district: str  # as in the province file ("Huyện Ý Yên")
    stars: int
    score: Decimal
    decision_no: str
    decision_date: date
    product_commune: str | None = None  # where the product is made, when not at its producer's commune
    product_district: str | None = None

    @property
    def product_district_name(self) -> str:
        """The district the product counts in (its own, else its producer's)."""
        return self.product_district or self.district


def province_communes(slug: str) -> list[tuple[str, str, str]]:
    """(commune name, commune code, district name) of a province file's communes with a district."""
    data = tomllib.loads((PROVINCES_DIR / f"{slug}.toml").read_text(encoding="utf-8"))
    names = {u["code"]: u["name"] for u in data["units"]}
    return [
        (u["name"], u["code"], names[u["parent"]])
        for u in data["units"]
        if u["kind"] in ("commune", "ward", "township") and u.get("parent")
    ]


def bare(name: str) -> str:
    """'Huyện Ý Yên' → 'Ý Yên', as provinces write districts."""
    for prefix in ("Thành phố ", "Thị xã ", "Huyện ", "Xã ", "Phường ", "Thị trấn "):
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return name


def certified_rows(
    prefix: str,
    slug: str = "nam-dinh",
    three: int = 118,
    four: int = 28,
    producers: int = 80,
    elsewhere_every: int = 0,
) -> list[CertifiedRow]:
    """`elsewhere_every` = n: every n-th product is made in a commune of another district than its producer's."""
    communes = province_communes(slug)
    rows = []
    first = date(2019, 9, 1)
    for i in range(three + four):
        stars = 3 if i < three else 4
        k = i % producers
        commune, code, district = communes[k % len(communes)]
        score = Decimal(50 + (i * 7) % 20) if stars == 3 else Decimal(70 + (i * 3) % 20)
        decided = first + timedelta(days=(i * 5) % 470)  # 1/9/2019 … 14/12/2020
        made_in = made_in_district = None
        if elsewhere_every and i % elsewhere_every == 0:
            made_in, _code, made_in_district = next(
                c for c in communes[(k * 13) % len(communes) :] + communes if c[2] != district
            )
        rows.append(
            CertifiedRow(
                product=f"{prefix} Sản phẩm {i}",
                producer=f"{prefix} Chủ thể {k}",
                commune=commune,
                commune_code=code,
                district=district,
                stars=stars,
                score=score + Decimal("0.5"),
                decision_no=f"{1000 + i // 10}/QĐ-UBND",
                decision_date=decided,
                product_commune=made_in,
                product_district=made_in_district,
            )
        )
    return rows


def certified_list(rows: list[CertifiedRow], title: str = "Danh sách sản phẩm OCOP tính đến 31/12/2020") -> bytes:
    """The rows as a province writes them: a title line, headers, dates as dates, bare district names."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([title])
    elsewhere = any(row.product_commune for row in rows)
    sheet.append(CERTIFIED_HEADERS + (PRODUCT_PLACE_HEADERS if elsewhere else []))
    kinds = ("HTX", "Công ty TNHH", "Hộ kinh doanh")
    for n, row in enumerate(rows, start=1):
        place = [row.product_commune, bare(row.product_district or "") or None] if elsewhere else []
        sheet.append(
            [
                n,
                row.product,
                SET_CODES[n % len(SET_CODES)],
                row.producer,
                kinds[int(row.producer.rsplit(" ", 1)[1]) % len(kinds)],
                row.commune,
                bare(row.district),
                f"{row.stars} sao",
                float(row.score),
                row.decision_no,
                row.decision_date,
                "UBND tỉnh",
                *place,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

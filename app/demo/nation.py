"""The synthetic nation: which of the 34 provinces (map of 1/7/2025) become synthetic tenants, and their communes.

Vietnam has had 34 provinces since 1/7/2025 (the `vietnam-provinces` package carries that catalogue and
its 3,321 communes/wards). The four real tenants are pre-2025 provinces with their own files and figures,
and each stands for the post-2025 province it now lies in:

    ha-tinh   → Hà Tĩnh (not merged)
    bac-giang → Bắc Ninh (Bắc Giang merged into it)
    bac-kan   → Thái Nguyên (Bắc Kạn merged into it)
    nam-dinh  → Ninh Bình (Nam Định and Hà Nam merged into it)

So the generator creates the other 30 provinces as synthetic tenants, and the nation has 34 tenants in all;
the real four are never written to. A synthetic tenant is marked in every place a person or a query looks:
its slug starts with `demo-`, its names end with "(dữ liệu mô phỏng)" / "(synthetic demo data)", its
standing agency says so, and it has no official code.
"""

from __future__ import annotations

from dataclasses import dataclass

from vietnam_provinces import Province, VietNamDivisionType, Ward

from app.core.text import fold

SYNTHETIC_PREFIX = "demo-"
SYNTHETIC_NAME = "dữ liệu mô phỏng"
SYNTHETIC_NAME_EN = "synthetic demo data"
SYNTHETIC_AGENCY = "Sở Nông nghiệp và Môi trường (dữ liệu mô phỏng, không phải số liệu thật)"
# Post-2025 province code → the real tenant that stands for it (never generated).
REAL_TENANTS = {42: "ha-tinh", 24: "bac-giang", 19: "bac-kan", 37: "nam-dinh"}
# --scale province: one large, mostly rural province with a strong OCOP programme.
LARGE_PROVINCE = "demo-nghe-an"


@dataclass(frozen=True)
class Commune:
    code: str  # GSO code, 5 digits
    name: str
    kind: str  # commune | ward


@dataclass(frozen=True)
class SyntheticProvince:
    code: int  # post-2025 GSO code
    slug: str
    name: str  # as a person reads it (without "Thành phố"/"Tỉnh")
    tenant_name: str
    tenant_name_en: str
    communes: tuple[Commune, ...]


def _short_name(province: Province) -> str:
    return province.name.removeprefix("Thành phố ").strip()


def _commune(ward: Ward) -> Commune:
    kind = "ward" if ward.division_type == VietNamDivisionType.PHUONG else "commune"  # đặc khu counted as communes
    return Commune(code=f"{int(ward.code):05d}", name=ward.name, kind=kind)


def synthetic_provinces() -> list[SyntheticProvince]:
    """The 30 provinces generated, in GSO code order (north to south)."""
    wards: dict[int, list[Ward]] = {}
    for ward in Ward.iter_all():
        wards.setdefault(int(ward.province_code), []).append(ward)
    provinces = []
    for province in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        code = int(province.code)
        if code in REAL_TENANTS:
            continue
        name = _short_name(province)
        provinces.append(
            SyntheticProvince(
                code=code,
                slug=SYNTHETIC_PREFIX + province.codename.replace("_", "-"),
                name=name,
                tenant_name=f"{name} ({SYNTHETIC_NAME})",
                tenant_name_en=f"{fold(name).title()} ({SYNTHETIC_NAME_EN})",
                communes=tuple(_commune(w) for w in sorted(wards.get(code, []), key=lambda w: int(w.code))),
            )
        )
    return provinces


def pick_provinces(count: int | None = None, slug: str | None = None) -> list[SyntheticProvince]:
    """`slug` picks one province; `count` the first ones (with the large province first, so that a small run
    of one province is the same province as --scale province); neither: all 30."""
    every = synthetic_provinces()
    if slug is not None:
        chosen = [p for p in every if p.slug == slug]
        if not chosen:
            raise ValueError(f"unknown synthetic province {slug!r}")
        return chosen
    if count is None:
        return every
    if not 1 <= count <= len(every):
        raise ValueError(f"provinces must be between 1 and {len(every)}")
    ordered = sorted(every, key=lambda p: p.slug != LARGE_PROVINCE)  # stable: otherwise code order
    return ordered[:count]

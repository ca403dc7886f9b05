"""What one synthetic province holds, drawn from a seeded random generator: pure Python, no database.

One function per table family (`plan_units`, `plan_producers`, …) appends rows that refer to each other by
natural keys (unit code, producer code, product code, cycle year, storage key); app/demo/generate.py turns
those keys into ids inside PostgreSQL. A later family (inspections) is one more function here, one more
entry in generate.FAMILIES.

Every rule the services apply holds: a certificate's validity is 36 months counted as the Civil Code does
(certificate_term_end), its act and authority are those in force on the decision date, the score lies in
its star's band and the parts add up to it under that act's maxima, a product's chain never overlaps in a
year (one application per product and cycle), and the kind follows the stars (upgrade when they rise).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from app.certification.services import certificate_term_end, criteria_act_on, default_authority
from app.core.acts import ACTS
from app.cycle.services import DEFAULT_TEMPLATE
from app.cycle.workflow import COMMUNE_SCREENING_FROM
from app.demo.nation import SyntheticProvince

FIRST_YEAR = 2019  # QĐ 1048 (21/8/2019): the national criteria the oldest certificates were issued under
MINISTRY_RENAMED = date(2025, 3, 1)  # Bộ NN&PTNT + Bộ TN&MT → Bộ Nông nghiệp và Môi trường
PRODUCER = "Chủ thể (dữ liệu mô phỏng)"
OFFICER = "Cán bộ OCOP (dữ liệu mô phỏng)"
COUNCIL = "Hội đồng đánh giá (dữ liệu mô phỏng)"
PAPER_NOTE = "Các bước trước Hội đồng làm trên hồ sơ giấy, nhập lại từ danh sách của tỉnh"

FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
FAMILY_NAMES += ["Ngô", "Dương", "Lý", "Đinh", "Lương", "Hà", "Triệu"]
MIDDLE_NAMES = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Xuân", "Thu"]
GIVEN_NAMES = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Lan", "Linh"]
GIVEN_NAMES += ["Long", "Mai", "Nam", "Nga", "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Tuấn"]
GIVEN_NAMES += ["Vân", "Yến", "Khánh", "Lộc", "Nhung", "Oanh", "Quyết", "Thủy"]
BRANDS = ["Phúc Lộc", "An Khang", "Thịnh Phát", "Hưng Thịnh", "Tân Tiến", "Xanh Việt", "Sao Mai", "Đồng Xanh"]
BRANDS += ["Hoa Sen", "Kim Ngân", "Thiên Nhiên", "Hương Quê", "Minh Phát", "Bảo An", "Tâm Đức", "Việt Nông"]
TRADES = ["Nông nghiệp", "Dịch vụ nông nghiệp", "Chè", "Dược liệu", "Mật ong", "Nông sản sạch", "Thủy sản"]
TRADES += ["Rau an toàn", "Chăn nuôi", "Thủ công mỹ nghệ", "Chế biến nông sản", "Trồng trọt"]

# Product sets of QĐ 148 (code → (relative weight, names)); food dominates as in every province's list.
PRODUCT_SETS: dict[str, tuple[float, list[str]]] = {
    "I.1.1": (5, ["Bưởi", "Cam", "Nhãn", "Vải thiều", "Na", "Dưa lưới", "Khoai lang", "Măng tây"]),
    "I.1.2": (3, ["Gà đồi", "Trứng gà ta", "Cá lăng", "Tôm càng", "Sữa bò tươi", "Vịt bầu"]),
    "I.2.1": (4, ["Gạo thơm", "Gạo nếp cái hoa vàng", "Gạo lứt", "Lạc nhân", "Đậu xanh"]),
    "I.2.2": (3, ["Mật ong hoa rừng", "Mật ong bạc hà", "Tinh bột nghệ", "Nấm hương khô"]),
    "I.3.1": (1, ["Giò chả", "Nem chua", "Bánh chưng"]),
    "I.3.2": (4, ["Bánh đa", "Miến dong", "Bún khô", "Bánh gai", "Mì gạo", "Cốm"]),
    "I.3.3": (4, ["Mứt gừng", "Chuối sấy", "Măng khô", "Tương ớt", "Dưa muối", "Nhãn sấy"]),
    "I.3.4": (4, ["Chả cá", "Lạp xưởng", "Thịt trâu gác bếp", "Ruốc", "Cá khô", "Mực một nắng"]),
    "I.4.1": (2, ["Nước mắm", "Tương bần", "Mắm tôm"]),
    "I.4.2": (2, ["Muối tiêu", "Tiêu đen", "Bột quế", "Hạt dổi"]),
    "I.5.1": (4, ["Chè xanh", "Chè Shan tuyết", "Chè búp", "Trà móc câu"]),
    "I.5.2": (2, ["Trà hoa vàng", "Trà atiso", "Trà gừng", "Trà túi lọc cà gai leo"]),
    "I.6.1": (2, ["Cà phê rang xay", "Cà phê hạt", "Ca cao bột"]),
    "II.1.1": (3, ["Rượu men lá", "Rượu nếp", "Rượu ngô"]),
    "II.1.2": (1, ["Rượu vang sim", "Rượu mơ"]),
    "II.2.1": (0.5, ["Nước khoáng thiên nhiên"]),
    "II.2.2": (1.5, ["Nước cốt chanh leo", "Nước ép dứa", "Sữa đậu nành"]),
    "III.1.1": (1.5, ["Cao cà gai leo", "Viên đông trùng hạ thảo", "Cao xương khớp"]),
    "III.2.1": (1, ["Dầu gội thảo dược", "Xà phòng nghệ", "Tinh dầu bưởi dưỡng tóc"]),
    "III.3.1": (1.5, ["Tinh dầu sả", "Tinh dầu quế", "Túi thảo dược ngâm chân"]),
    "IV.1.1": (2, ["Mây tre đan", "Gốm", "Chiếu cói", "Nón lá", "Đồ gỗ mỹ nghệ"]),
    "IV.2.1": (1, ["Thổ cẩm", "Lụa tơ tằm", "Khăn dệt"]),
    "V.1.1": (0.5, ["Hoa lan", "Hoa đào"]),
    "V.2.1": (0.5, ["Cây cảnh bonsai", "Quất cảnh"]),
    "V.3.1": (0.2, ["Cá cảnh"]),
    "VI.1.1": (0.5, ["Du lịch cộng đồng bản", "Điểm du lịch sinh thái"]),
}
OUTPUT_UNITS = {"I": "tấn", "II": "lít", "III": "kg", "IV": "sản phẩm", "V": "cây", "VI": "lượt khách"}
KIND_WEIGHTS = {"htx": 32, "enterprise": 22, "coop_group": 14, "household": 32}  # DOMAIN.md, national picture
TRADEMARK_WEIGHTS = {"none": 35, "applied": 20, "registered": 38, "collective": 5, "geographical_indication": 2}
REVOKE_REASONS = [
    "Không duy trì quy trình sản xuất như hồ sơ đã công bố",
    "Vi phạm quy định về an toàn thực phẩm",
    "Không lưu giữ hồ sơ truy xuất nguồn gốc",
    "Chủ thể ngừng sản xuất sản phẩm",
]
RETURN_REASONS = ["Bổ sung phiếu kiểm nghiệm còn hiệu lực", "Thiếu câu chuyện sản phẩm", "Ảnh nhãn sản phẩm bị mờ"]

# The producer's evidence per application kind (app/cycle/checklists.toml codes), most important first.
REQUIREMENTS_NEW = [
    "registration_form",
    "business_plan",
    "business_registration",
    "product_samples",
    "quality_declaration",
    "test_report",
    "food_safety_certificate",
    "barcode_traceability",
    "trademark",
    "raw_material_origin",
    "product_story",
    "organisation_chart",
    "market_development",
    "environmental_compliance",
]
REQUIREMENTS_AGAIN = ["three_year_report", "ocop_certificate", *REQUIREMENTS_NEW[:10]]
REQUIREMENT_TITLES = {
    "registration_form": "Phiếu đăng ký sản phẩm",
    "business_plan": "Phương án kinh doanh",
    "business_registration": "Giấy chứng nhận đăng ký kinh doanh",
    "product_samples": "Ảnh mẫu sản phẩm",
    "quality_declaration": "Bản công bố chất lượng",
    "test_report": "Phiếu kết quả kiểm nghiệm",
    "food_safety_certificate": "Giấy chứng nhận cơ sở đủ điều kiện ATTP",
    "barcode_traceability": "Mã vạch, tem truy xuất nguồn gốc",
    "trademark": "Giấy chứng nhận đăng ký nhãn hiệu",
    "raw_material_origin": "Hợp đồng liên kết vùng nguyên liệu",
    "product_story": "Câu chuyện sản phẩm",
    "organisation_chart": "Sơ đồ tổ chức",
    "market_development": "Kế hoạch phát triển thị trường",
    "environmental_compliance": "Cam kết bảo vệ môi trường",
    "three_year_report": "Báo cáo 3 năm được công nhận",
    "ocop_certificate": "Giấy chứng nhận OCOP đã cấp",
}
VALIDITY_MONTHS = {"test_report": 12, "food_safety_certificate": 36}

# The way of an application (action, from, to, who); upgrade and re-recognition start at the dossier.
NEW_PATH = [
    ("start", None, "idea_submitted", PRODUCER),
    ("accept_idea", "idea_submitted", "preparing_plan", OFFICER),
    ("submit_plan", "preparing_plan", "plan_submitted", PRODUCER),
    ("accept_plan", "plan_submitted", "preparing_dossier", OFFICER),
    ("submit_dossier", "preparing_dossier", "dossier_submitted", PRODUCER),
    ("screen", "dossier_submitted", "screened", OFFICER),
    ("forward_to_council", "screened", "ready_for_council", OFFICER),
]
AGAIN_PATH = [("start", None, "preparing_dossier", PRODUCER), *NEW_PATH[4:]]
DOSSIER_STATUSES = {"dossier_submitted", "dossier_returned", "screened", "ready_for_council"}


@dataclass(frozen=True)
class Counts:
    producers: int
    products: int
    certificates: int
    documents: int


@dataclass
class ProvincePlan:
    """Rows per table as tuples in the column order of generate.FAMILIES (natural keys, no ids)."""

    province: SyntheticProvince
    tenant_id: int
    rows: dict[str, list[tuple]] = field(default_factory=dict)
    objects: list[tuple[str, bytes]] = field(default_factory=list)  # (storage key, bytes) put into S3

    def add(self, table: str, row: tuple) -> None:
        self.rows.setdefault(table, []).append(row)


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` exactly (largest remainders, ties to the earlier)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _at(day: date, rng: random.Random) -> str:
    """A working-hours moment of the day in Vietnam, as COPY reads a timestamptz (cheaper than a datetime)."""
    minutes = int(rng.random() * 540)
    return f"{day.isoformat()} {1 + minutes // 60:02d}:{minutes % 60:02d}:00+00"


_TERM_ENDS: dict[tuple[date, int], date] = {}


def _term_end(day: date, months: int = 36) -> date:
    """certificate_term_end, remembered (decisions fall on a few dozen days)."""
    key = (day, months)
    if key not in _TERM_ENDS:
        _TERM_ENDS[key] = certificate_term_end(day, months)
    return _TERM_ENDS[key]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"


def _place(commune_name: str) -> str:
    for prefix in ("Phường ", "Xã ", "Đặc khu "):
        if commune_name.startswith(prefix):
            return commune_name[len(prefix) :]
    return commune_name


@dataclass
class _Context:
    """What the families of one province share while it is planned."""

    plan: ProvincePlan
    counts: Counts
    as_of: date
    rng: random.Random
    set_ids: dict[str, int]
    producers: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    applications: list[dict] = field(default_factory=list)
    rounds: list[tuple[date, str]] = field(default_factory=list)  # province decisions (date, number)
    ministry: dict[int, tuple[date, str]] = field(default_factory=dict)  # year → the ministry's 5★ decision


# ----------------------------------------------------------------------------- families


def plan_units(ctx: _Context) -> None:
    """The province's communes and wards of 1/7/2025 (two-tier government: no district level)."""
    for commune in ctx.plan.province.communes:
        ctx.plan.add("admin_units", (commune.code, commune.name, commune.kind, COMMUNE_SCREENING_FROM, False))


def plan_producers(ctx: _Context) -> None:
    rng, province = ctx.rng, ctx.plan.province
    kinds = list(KIND_WEIGHTS)
    for n in range(ctx.counts.producers):
        commune = rng.choice(province.communes)
        place = _place(commune.name)
        kind = rng.choices(kinds, weights=list(KIND_WEIGHTS.values()))[0]
        person = _person(rng)
        name = {
            "htx": f"Hợp tác xã {rng.choice(TRADES)} {place}",
            "enterprise": f"Công ty TNHH {rng.choice(BRANDS)} {place}",
            "coop_group": f"Tổ hợp tác {rng.choice(TRADES)} {place}",
            "household": f"Hộ kinh doanh {person}",
        }[kind]
        code = f"CT{n + 1:05d}"
        registration = f"{province.code:02d}{n + 1:08d}" if kind in ("htx", "enterprise") else None
        founded = date(rng.randrange(2005, FIRST_YEAR + 1), rng.randrange(1, 13), rng.randrange(1, 29))
        producer = {"code": code, "commune": commune, "kind": kind, "set": _pick_set(rng)}
        ctx.producers.append(producer)
        ctx.plan.add(
            "producers",
            (
                code,
                name,
                kind,
                registration,
                f"Thôn {rng.randrange(1, 16)}, {commune.name}, {province.name}",
                commune.code,
                person,
                f"09{rng.randrange(10**8):08d}",
                rng.randrange(1, 200) * 50_000_000 if kind != "household" else None,
                rng.randrange(2, 120),
                rng.randrange(7, 80) if kind in ("htx", "coop_group") else None,
                _at(founded, rng),
            ),
        )


def _pick_set(rng: random.Random) -> str:
    codes = list(PRODUCT_SETS)
    return rng.choices(codes, weights=[PRODUCT_SETS[c][0] for c in codes])[0]


def plan_products(ctx: _Context) -> None:
    """Every producer has at least one product; the rest go to producers at random (a few have many)."""
    rng = ctx.rng
    owners = list(range(len(ctx.producers)))
    extra = [rng.randrange(len(owners)) for _ in range(ctx.counts.products - len(owners))] if owners else []
    owners += extra
    owners.sort()
    names_taken: set[tuple[int, str]] = set()
    for n, owner in enumerate(owners):
        producer = ctx.producers[owner]
        set_code = producer["set"] if rng.random() < 0.7 else _pick_set(rng)
        base = rng.choice(PRODUCT_SETS[set_code][1])
        name = f"{base} {_place(producer['commune'].name)}"
        k = 2
        while (owner, name) in names_taken:
            name = f"{base} {_place(producer['commune'].name)} loại {k}"
            k += 1
        names_taken.add((owner, name))
        code = f"SP{n + 1:06d}"
        group = set_code.split(".")[0]
        registered = date(rng.randrange(2017, FIRST_YEAR + 1), rng.randrange(1, 13), rng.randrange(1, 29))
        product = {"code": code, "name": name, "producer": producer, "group": group, "certificates": []}
        ctx.products.append(product)
        ctx.plan.add(
            "products",
            (
                code,
                producer["code"],
                name,
                ctx.set_ids[set_code],
                producer["commune"].code,
                f"{rng.randrange(1, 60)} ha tại {producer['commune'].name}" if group in ("I", "II", "III") else "",
                f"{rng.randrange(1, 50) * 100} {OUTPUT_UNITS[group]}/năm",
                Decimal(rng.randrange(1, 500)),
                OUTPUT_UNITS[group],
                rng.choice(["Trong tỉnh", "Trong tỉnh, Hà Nội", "Toàn quốc, sàn thương mại điện tử", "Siêu thị"]),
                ["Nhật Bản"] if rng.random() < 0.02 else [],
                "Tem truy xuất nguồn gốc QR" if rng.random() < 0.6 else "",
                rng.choices(list(TRADEMARK_WEIGHTS), weights=list(TRADEMARK_WEIGHTS.values()))[0],
                _at(registered, rng),
            ),
        )


def plan_decisions(ctx: _Context) -> None:
    """The province's recognition decisions (two rounds a year, as the default cycle has) and the
    ministry's yearly 5★ decision, each on or before the as-of date."""
    rng = ctx.rng
    for year in range(FIRST_YEAR, ctx.as_of.year + 1):
        for month, day in ((8, 5), (11, 10)):
            decided = date(year, month, day + rng.randrange(15))
            if decided <= ctx.as_of:
                ctx.rounds.append((decided, f"{rng.randrange(100, 4000)}/QĐ-UBND"))
        decided = date(year, 12, 15 + rng.randrange(10))
        if decided <= ctx.as_of:
            office = "BNNMT" if decided >= MINISTRY_RENAMED else "BNN-VPĐP"
            ctx.ministry[year] = (decided, f"{rng.randrange(1000, 6000)}/QĐ-{office}")


def _score(rng: random.Random, stars: int) -> Decimal:
    if stars == 3:  # most 3★ are "3 sao non" (50 to <60): DOMAIN.md, Bắc Kạn
        low, high = (50, 60) if rng.random() < 0.8 else (60, 70)
    else:
        low, high = {4: (70, 90), 5: (90, 98)}[stars]
    return Decimal(rng.randrange(low * 4, high * 4)) / 4  # quarter points, always inside [low, high)


def _parts(rng: random.Random, score: Decimal, act: str) -> dict[str, str]:
    maxima = ACTS[act].parts
    a = min(
        Decimal(maxima["A"]), (score * maxima["A"] / 100 * Decimal(rng.uniform(0.96, 1.04))).quantize(Decimal("0.01"))
    )
    b = min(
        Decimal(maxima["B"]), (score * maxima["B"] / 100 * Decimal(rng.uniform(0.96, 1.04))).quantize(Decimal("0.01"))
    )
    c = score - a - b
    if not 0 <= c <= maxima["C"]:
        a = (score * maxima["A"] / 100).quantize(Decimal("0.01"))
        b = (score * maxima["B"] / 100).quantize(Decimal("0.01"))
        c = score - a - b
    return {"A": f"{a:.2f}", "B": f"{b:.2f}", "C": f"{c:.2f}"}


def _chain_steps(rng: random.Random, length: int) -> list[str]:
    """Kinds after the first: an upgrade comes 1–1.5 years on, a re-recognition at the end of the 3 years."""
    return ["upgrade" if rng.random() < 0.35 else "re_recognition" for _ in range(length - 1)]


GAPS = {"upgrade": (2, 3), "re_recognition": (5, 6)}  # in rounds (two a year)


def plan_certificates(ctx: _Context) -> None:
    """Chains of 1–3 certificates on randomly chosen products until the province's count is reached."""
    rng, total = ctx.rng, ctx.counts.certificates
    order = rng.sample(range(len(ctx.products)), len(ctx.products))
    made = 0
    for index in order:
        if made >= total:
            break
        length = min(total - made, rng.choices((1, 2, 3), weights=(60, 28, 12))[0])
        made += _plan_chain(ctx, ctx.products[index], length)
    if made < total:
        raise ValueError(
            f"{ctx.plan.province.slug}: {total} certificates do not fit on {len(ctx.products)} products "
            f"between {FIRST_YEAR} and {ctx.as_of:%d/%m/%Y}"
        )


def _plan_chain(ctx: _Context, product: dict, length: int) -> int:
    rng, rounds = ctx.rng, ctx.rounds
    steps = _chain_steps(rng, length)
    gaps = [rng.randint(*GAPS[s]) for s in steps]
    while gaps and sum(gaps) > len(rounds) - 1:  # the chain must fit between 2019 and the as-of date
        gaps.pop()
        steps.pop()
    if not rounds:
        return 0
    last_start = len(rounds) - 1 - sum(gaps)
    # The programme grew every year: later rounds are likelier starts.
    start = rng.choices(range(last_start + 1), weights=[i + 3 for i in range(last_start + 1)])[0]
    r = start
    first = rng.random()
    stars = 3 if first < 0.84 else 4 if first < 0.99 else 5
    previous = None
    for step_index in range(len(steps) + 1):
        if step_index:
            r += gaps[step_index - 1]
            if steps[step_index - 1] == "upgrade" and stars < 5:
                stars += 1
            elif rng.random() < 0.08 and stars > 3:  # a re-evaluation can lower the stars
                stars -= 1
        decided, number = rounds[r]
        cert_stars = stars
        if cert_stars == 5:
            ministry = ctx.ministry.get(decided.year)
            if ministry is None or (previous and ministry[0] <= previous["decided"]):
                cert_stars = stars = 4  # the ministry has not decided yet: the province's 4★ stands
            else:
                decided, number = ministry
        kind = "new" if previous is None else ("upgrade" if cert_stars > previous["stars"] else "re_recognition")
        act = criteria_act_on(decided)
        score = _score(rng, cert_stars)
        cert = {
            "stars": cert_stars,
            "score": score,
            "parts": _parts(rng, score, act),
            "number": number,
            "decided": decided,
            "authority": default_authority(act, cert_stars),
            "act": act,
            "kind": kind,
            "valid_to": _term_end(decided),
            "revoked_on": None,
            "public_code": f"{rng.getrandbits(128):032x}",
        }
        product["certificates"].append(cert)
        previous = cert
    last = product["certificates"][-1]
    # About 2 % of products lose their certificate by revocation (thu hồi).
    if rng.random() < 0.02:
        latest = min(last["valid_to"], ctx.as_of)
        earliest = last["decided"] + timedelta(days=90)
        if earliest <= latest:
            last["revoked_on"] = earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))
            last["revoke_reason"] = rng.choice(REVOKE_REASONS)
            last["revoke_number"] = f"{rng.randrange(100, 4000)}/QĐ-UBND"
    for cert in product["certificates"]:
        ctx.plan.add(
            "certificates",
            (
                product["code"],
                cert["stars"],
                cert["score"],
                json.dumps(cert["parts"]),
                cert["number"],
                cert["decided"],
                cert["authority"],
                cert["act"],
                cert["kind"],
                "import",
                cert["decided"],
                cert["valid_to"],
                cert["revoked_on"],
                cert.get("revoke_reason"),
                cert.get("revoke_number"),
                cert["public_code"],
            ),
        )
    return len(product["certificates"])


def plan_cycles(ctx: _Context) -> None:
    """One cycle a year from the first certificate's year to the as-of year, with the default windows and rounds
    (as cycle_open makes them for a province without its own [cycle] section)."""
    for year in range(FIRST_YEAR, ctx.as_of.year + 1):
        windows = []
        for name in ("ideas", "plans", "dossiers"):
            start, end = DEFAULT_TEMPLATE[name]
            windows += [date.fromisoformat(f"{year}-{start}"), date.fromisoformat(f"{year}-{end}")]
        ctx.plan.add("cycles", (year, *windows))
        for spec in DEFAULT_TEMPLATE["rounds"]:
            deadline = date.fromisoformat(f"{year}-{spec['deadline']}")
            if spec["level"] == "district" and deadline >= COMMUNE_SCREENING_FROM:
                continue
            ctx.plan.add("evaluation_rounds", (year, spec["code"], spec["name"], spec["level"], deadline))


def _events(ctx: _Context, app: dict, path: list, start: date, end: date, final: list | None = None) -> None:
    """The application's history: its steps spread between `start` and `end`, then the council's decision.
    Before the platform (older than last year) the dossier went on paper: its steps are one recorded jump."""
    rng = ctx.rng
    if final and app["year"] < ctx.as_of.year - 1:
        path = [path[0], ("paper_dossier", path[0][2], path[-1][2], OFFICER)]
    steps = list(path) + list(final or [])
    span = max((end - start).days, len(steps))
    day = start
    for i, (action, before, after, who) in enumerate(steps):
        if i:
            day = min(end, day + timedelta(days=1 + int(rng.random() * (span // len(steps)))))
        note = (
            app.get("last_reason") if action.startswith("return") else PAPER_NOTE if action == "paper_dossier" else None
        )
        ctx.plan.add(
            "application_events", (app["year"], app["product"], _at(day, rng), who, action, before, after, note)
        )
    app["updated_at"] = _at(day, rng)


def plan_applications(ctx: _Context) -> None:
    """One recognised application per certificate (in its decision year's cycle); past refusals; and this
    year's cycle in progress for products without a certificate this year."""
    rng, as_of = ctx.rng, ctx.as_of
    for product in ctx.products:
        years = set()
        for cert in product["certificates"]:
            year = cert["decided"].year
            years.add(year)
            again = cert["kind"] != "new"
            start = date(year, 4, 1) + timedelta(days=rng.randrange(30)) if again else date(year, 2, 1)
            start += timedelta(days=rng.randrange(20))
            final = [("council_recognise", "ready_for_council", "recognised", COUNCIL)]
            if cert["stars"] == 5:
                final = [
                    ("council_propose_ministry", "ready_for_council", "proposed_ministry", COUNCIL),
                    ("ministry_answer", "proposed_ministry", "recognised", COUNCIL),
                ]
            app = _application(product, year, cert["kind"], "recognised", start, cert["stars"])
            _events(ctx, app, AGAIN_PATH if again else NEW_PATH, start, cert["decided"], final)
            ctx.applications.append(app)
        chance = rng.random()
        if not product["certificates"] and chance < 0.15 and as_of.year > FIRST_YEAR:
            year = rng.randrange(FIRST_YEAR, as_of.year)  # refused in an earlier year
            start = date(year, 2, 1) + timedelta(days=rng.randrange(40))
            final = [("council_not_recognise", "ready_for_council", "not_recognised", COUNCIL)]
            app = _application(product, year, "new", "not_recognised", start, None)
            _events(ctx, app, NEW_PATH, start, date(year, 11, 1), final)
            ctx.applications.append(app)
        if as_of.year not in years and as_of >= date(as_of.year, 2, 15) and chance > 0.55:
            _application_in_progress(ctx, product)


def _application(product: dict, year: int, kind: str, status: str, start: date, target: int | None) -> dict:
    return {
        "product": product["code"],
        "product_row": product,
        "year": year,
        "kind": kind,
        "status": status,
        "start": start,
        "target": None if kind == "new" else target,
        "last_reason": None,
        "updated_at": None,
    }


def _application_in_progress(ctx: _Context, product: dict) -> None:
    rng, as_of = ctx.rng, ctx.as_of
    certs = product["certificates"]
    if certs:
        stars = certs[-1]["stars"]
        kind = "upgrade" if stars < 5 and rng.random() < 0.5 else "re_recognition"
        path, target = AGAIN_PATH, stars + 1 if kind == "upgrade" else stars
    else:
        kind, path, target = "new", NEW_PATH, None
    steps = path[: 1 + rng.randrange(len(path))]
    start = max(date(as_of.year, 2, 1), as_of - timedelta(days=200)) + timedelta(days=rng.randrange(14))
    start = min(start, as_of)
    app = _application(product, as_of.year, kind, steps[-1][2], start, target)
    if app["status"] == "dossier_submitted" and rng.random() < 0.2:
        app["last_reason"] = rng.choice(RETURN_REASONS)
        steps = [*steps, ("return_dossier", "dossier_submitted", "dossier_returned", OFFICER)]
        app["status"] = "dossier_returned"
    _events(ctx, app, steps, start, as_of)
    ctx.applications.append(app)


def write_applications(ctx: _Context) -> None:
    """After the documents family has read them: the applications' own rows."""
    for app in ctx.applications:
        product = app["product_row"]
        ctx.plan.add(
            "applications",
            (
                app["year"],
                app["product"],
                app["kind"],
                app["status"],
                "commune" if app["start"] >= COMMUNE_SCREENING_FROM else "district",
                app["target"],
                f"Phát triển sản phẩm {product['name']} từ nguyên liệu địa phương" if app["kind"] == "new" else "",
                f"Sản lượng dự kiến {ctx.rng.randrange(1, 100)} {OUTPUT_UNITS[product['group']]}/năm",
                app["last_reason"],
                _at(app["start"], ctx.rng),
                app["updated_at"],
            ),
        )


def plan_documents(ctx: _Context) -> None:
    """Evidence metadata, newest dossiers first and complete (the platform came after the paper dossiers of
    the first years), until the province's count is reached; each is linked to its application."""
    total = ctx.counts.documents
    with_dossier = [a for a in ctx.applications if a["status"] in DOSSIER_STATUSES or a["status"] in FINAL]
    with_dossier.sort(key=lambda a: (-a["year"], a["product"]))
    made = 0
    rounds = 0
    while made < total and with_dossier:
        for app in with_dossier:
            requirements = REQUIREMENTS_NEW if app["kind"] == "new" else REQUIREMENTS_AGAIN
            count = min(total - made, len(requirements)) if rounds == 0 else min(total - made, 1)
            for requirement in requirements[:count]:
                _document(ctx, app, requirement, version=rounds)
            made += count
            if made >= total:
                break
        rounds += 1  # more documents than dossiers hold: further versions (a newer test report, …)
    if made < total:
        raise ValueError(f"{ctx.plan.province.slug}: no application can hold {total} documents")


FINAL = {"recognised", "not_recognised", "proposed_ministry"}


def _document(ctx: _Context, app: dict, requirement: str, version: int) -> None:
    rng, plan = ctx.rng, ctx.plan
    product = app["product_row"]
    issued = app["start"] - timedelta(days=rng.randrange(5, 120))
    uploaded = app["start"] + timedelta(days=rng.randrange(1, 30))
    uploaded = min(uploaded, ctx.as_of)
    months = VALIDITY_MONTHS.get(requirement)
    valid_until = _term_end(issued, months) if months else None
    photo = requirement == "product_samples"
    size = rng.randrange(40_000, 6_000_000)
    status = "accepted"
    if app["status"] not in FINAL:
        draw = rng.random()
        status = "pending" if draw < 0.06 else "rejected" if draw < 0.09 else "accepted"
    key = f"tenants/{plan.tenant_id}/documents/{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    sha = f"{rng.getrandbits(256):064x}"
    checked = status in ("accepted", "rejected")
    suffix = f" (bản {version + 1})" if version else ""
    plan.add(
        "documents",
        (
            product["producer"]["code"],
            product["code"],
            requirement,
            REQUIREMENT_TITLES[requirement] + suffix,
            f"{requirement}{'-' + str(version + 1) if version else ''}.{'jpg' if photo else 'pdf'}",
            "image/jpeg" if photo else "application/pdf",
            size,
            size if status != "awaiting_upload" else None,
            sha if checked else None,
            key,
            status,
            "Tệp không đọc được, vui lòng tải lại bản rõ hơn" if status == "rejected" else None,
            issued,
            valid_until,
            _at(uploaded, rng),
            _at(uploaded, rng),
            _at(uploaded, rng) if checked else None,
        ),
    )
    plan.add("application_documents", (app["year"], app["product"], requirement, key))


# The order matters: each family reads what the earlier ones planned.
PLANNERS = (
    plan_units,
    plan_producers,
    plan_products,
    plan_decisions,
    plan_certificates,
    plan_cycles,
    plan_applications,
    plan_documents,
    write_applications,
)


def plan_province(
    province: SyntheticProvince, tenant_id: int, counts: Counts, *, seed: int, as_of: date, set_ids: dict[str, int]
) -> ProvincePlan:
    """Everything of one province; the same seed, counts and as-of date give the same rows (its own generator,
    so a province is the same whatever else is generated with it)."""
    if counts.products < counts.producers:
        raise ValueError(f"{province.slug}: fewer products ({counts.products}) than producers ({counts.producers})")
    plan = ProvincePlan(province=province, tenant_id=tenant_id)
    ctx = _Context(plan=plan, counts=counts, as_of=as_of, rng=random.Random(f"{seed}:{province.slug}"), set_ids=set_ids)
    for planner in PLANNERS:
        planner(ctx)
    return plan

"""Regenerate tenants/data/units-catalogue.json, the official administrative units the provinces are loaded
with (tenants/catalogue.py), from the `vietnam-provinces` package (GSO data):

- before 1/7/2025: its 0.6 release, the three-level catalogue (province → district → commune);
- from 1/7/2025: the installed 2025.x release, the two-level catalogue (province → commune/ward).

Both cannot be installed at once, so the 0.6 wheel is read as a zip:

    .venv/bin/pip download "vietnam-provinces==0.6.*" --no-deps -d /tmp/vp06
    .venv/bin/python -m tenants.data.build_catalogue /tmp/vp06/vietnam_provinces-0.6.0-py3-none-any.whl

Only the provinces of PROVINCES (before the reform) and the provinces they became part of are kept, so the
file stays small; add a GSO code there to load another province.
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections import Counter
from pathlib import Path

# GSO codes of the provinces run on the platform before 1/7/2025: Bắc Kạn, Bắc Giang, Nam Định, Hà Tĩnh.
PROVINCES = (6, 24, 36, 42)
OUT = Path(__file__).with_name("units-catalogue.json")


def _pad(code: int, width: int) -> str:
    return str(code).zfill(width)


def build(wheel_06: Path) -> dict:
    import vietnam_provinces

    with zipfile.ZipFile(wheel_06) as wheel:
        before = json.loads(wheel.read("vietnam_provinces/data/nested-divisions.json"))
        version_06 = (
            next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")).split("-")[1].split(".dist")[0]
        )
    after = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    # Since the reform a commune keeps the code of one of the communes it was made from: the province
    # holding most of an old province's commune codes is the one it became part of.
    province_of_code = {w["code"]: p["code"] for p in after for w in p["wards"]}
    catalogue = {
        "sources": {
            "before": f"vietnam-provinces {version_06}",
            "after": f"vietnam-provinces {vietnam_provinces.__version__} (data {vietnam_provinces.__data_version__})",
        },
        "before": {},
        "after": {},
        "became": {},
    }
    for province in before:
        if province["code"] not in PROVINCES:
            continue
        codes = Counter(
            province_of_code.get(w["code"])
            for d in province["districts"]
            for w in d["wards"]
            if w["code"] in province_of_code
        )
        successor = codes.most_common(1)[0][0]
        key = _pad(province["code"], 2)
        catalogue["became"][key] = _pad(successor, 2)
        catalogue["before"][key] = {
            "name": province["name"],
            "districts": [
                [_pad(d["code"], 3), d["name"], [[_pad(w["code"], 5), w["name"]] for w in d["wards"]]]
                for d in province["districts"]
            ],
        }
    for province in after:
        key = _pad(province["code"], 2)
        if key in catalogue["became"].values():
            catalogue["after"][key] = {
                "name": province["name"],
                "wards": [[_pad(w["code"], 5), w["name"]] for w in province["wards"]],
            }
    return catalogue


def main(argv: list[str]) -> None:
    catalogue = build(Path(argv[1]))
    # One unit a line: small diffs when the GSO data changes.
    text = json.dumps(catalogue, ensure_ascii=False, indent=1)
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"{OUT}: {catalogue['sources']}")


if __name__ == "__main__":
    main(sys.argv)

"""The one-place rules: the clock, the criteria acts, text helpers, a unit valid on a day."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.core import clock
from app.core.acts import ACT_148, ACT_1048, ACT_1489, act_in_force, recognising_level, taxonomy_act
from app.core.text import assign, fold, name_key, nfc, nfc_deep
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import AdminUnit


def test_the_clock_can_be_moved_and_today_is_vietnams_date():
    with clock.frozen(date(2020, 12, 31)):
        assert clock.today() == date(2020, 12, 31)
    # 20:00 UTC on 31/12 is already 1/1 in Hà Nội (UTC+7).
    with clock.frozen(datetime(2020, 12, 31, 20, 0, tzinfo=UTC)):
        assert clock.today() == date(2021, 1, 1)
        assert clock.now() == datetime(2020, 12, 31, 20, 0, tzinfo=UTC)
    assert clock.today() != date(2020, 12, 31)


def test_the_act_in_force_and_who_recognises_which_star():
    assert act_in_force(date(2019, 8, 20)).code == ACT_1048  # nothing earlier is known
    assert act_in_force(date(2020, 12, 31)).code == "781/QĐ-TTg"
    assert act_in_force(date(2023, 2, 23)).code == "781/QĐ-TTg"
    assert act_in_force(date(2023, 2, 24)).code == ACT_148
    assert act_in_force(date(2026, 11, 30)).code == ACT_1489  # 26/2026 is unverified
    assert act_in_force(date(2026, 11, 30), include_unverified=True).code == "26/2026/QĐ-TTg"
    assert recognising_level(3, date(2020, 6, 1)) == "province"
    assert recognising_level(3, date(2024, 1, 1)) == "district"
    assert recognising_level(3, date(2025, 8, 1)) == "province"
    assert recognising_level(5, date(2024, 1, 1)) == "ministry"
    assert taxonomy_act(ACT_1489) == ACT_148 and taxonomy_act(ACT_1048) == ACT_1048


def test_text_helpers():
    decomposed = unicodedata.normalize("NFD", " Lục Ngạn ")
    assert nfc(decomposed) == "Lục Ngạn" and nfc(3) == 3
    assert nfc_deep({"a": [decomposed]}) == {"a": [unicodedata.normalize("NFC", " Lục Ngạn ")]}
    assert fold("Xã  Phúc HOÀ Đông") == "xa phuc hoa dong"
    assert name_key("Chè") != name_key("Chế") and name_key(" HTX  A ") == name_key("htx a")

    class Obj:
        a, b = 1, 2

    obj = Obj()
    assert assign(obj, {"a": 1}) is False and assign(obj, {"a": 1, "b": 3}) is True and obj.b == 3


def test_a_unit_valid_on_a_day_in_python_and_in_sql(app, tenants):
    """Both ends inclusive; the query form counts what the instance form says."""
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        units = db.session.scalars(select(AdminUnit)).all()
        for day in (date(2025, 6, 30), date(2025, 7, 1), date(2026, 11, 30)):
            expected = sum(1 for u in units if u.is_valid_on(day))
            counted = db.session.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.is_valid_on(day)))
            assert counted == expected
        district = next(u for u in units if u.valid_to is not None)
        assert district.is_valid_on(district.valid_to)
        assert not district.is_valid_on(date.fromordinal(district.valid_to.toordinal() + 1))
        db.session.rollback()

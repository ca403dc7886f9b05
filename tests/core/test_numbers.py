"""Numbers as Vietnamese users type them (app/core/numbers.py), in every numeric form field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.numbers import NumberError, format_number, parse_number
from app.extensions import db
from app.registry.models import Producer
from tenants.context import tenant_scope
from tests.conftest import csrf_token


@pytest.mark.parametrize(
    "text,integer,expected",
    [
        ("12.000", True, 12000),
        ("1.500.000", True, 1500000),
        ("1 500 000", True, 1500000),
        ("12", True, 12),
        ("2,5", False, Decimal("2.5")),
        ("1.500,75", False, Decimal("1500.75")),
        ("2.5", False, Decimal("2.5")),  # a point before one or two digits groups nothing
        ("12.000", False, Decimal("12000")),
        ("3,0", True, 3),
    ],
)
def test_vietnamese_grouping_and_decimal_commas(app, text, integer, expected):
    with app.test_request_context():
        value = parse_number(text, integer=integer)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "text,message",
    [
        ("1,500", "có thể hiểu theo hai cách"),
        ("1,500.5", "có thể hiểu theo hai cách"),
        ("12.00.0", "không phải là một số"),
        ("abc", "không phải là một số"),
        ("=1+1", "không phải là một số"),
        ("1\x002", "không phải là một số"),
        ("9" * 50, "không phải là một số"),
    ],
)
def test_ambiguous_or_malformed_numbers_are_refused_with_a_reason(app, text, message):
    with app.test_request_context(), pytest.raises(NumberError, match=message):
        parse_number(text)
    with app.test_request_context(), pytest.raises(NumberError, match="số nguyên"):
        parse_number("2,5", integer=True)


def test_a_stored_value_is_shown_as_it_is_typed(app):
    assert format_number(1500000) == "1.500.000"
    assert format_number(Decimal("2.50")) == "2,5"
    assert format_number(2025, grouping=False) == "2025"
    with app.test_request_context():
        assert parse_number(format_number(Decimal("1234.5"))) == Decimal("1234.5")


def test_the_producer_form_saves_12_000_as_twelve_thousand(app, tenants, officer_login):
    client, _user_id, _email = officer_login("bac-giang")
    url = "/bac-giang/producers/new"
    name = "HTX Thử số Việt"
    data = {"csrf_token": csrf_token(client, url), "name": name, "kind": "htx"}
    data |= {"capital_vnd": "1.500.000", "workforce": "12", "members": "1.200", "land_area_m2": "2,5"}
    assert client.post(url, data=data).status_code == 302
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        producer = db.session.scalar(select(Producer).where(Producer.name == name))
        assert (producer.capital_vnd, producer.workforce, producer.members, producer.land_area_m2) == (
            1500000,
            12,
            1200,
            Decimal("2.5"),
        )
    page = client.get(f"/bac-giang/producers/{producer.id}/edit").get_data(as_text=True)
    assert 'value="1.500.000"' in page and 'inputmode="numeric"' in page
    refused = client.post(url, data={**data, "csrf_token": csrf_token(client, url), "capital_vnd": "1,500"})
    assert refused.status_code == 200 and "có thể hiểu theo hai cách" in refused.get_data(as_text=True)

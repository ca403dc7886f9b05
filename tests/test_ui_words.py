"""No raw text in the UI: WTForms' own messages in Vietnamese, council levels in words."""

from __future__ import annotations

from tests.conftest import csrf_token


def test_a_required_field_says_so_in_vietnamese(app, tenants, officer_login):
    client, _uid, _email = officer_login("bac-giang")
    url = "/bac-giang/producers/new"
    page = client.post(url, data={"csrf_token": csrf_token(client, url), "name": "", "kind": "htx"}).get_data(
        as_text=True
    )
    assert "Trường này là bắt buộc." in page and "This field is required." not in page


def test_council_levels_are_words(app, tenants, officer_login):
    client, _uid, _email = officer_login("bac-giang")
    page = client.get("/bac-giang/councils").get_data(as_text=True)
    assert "<td>Cấp tỉnh</td>" in page and "<td>province</td>" not in page and "<td>district</td>" not in page

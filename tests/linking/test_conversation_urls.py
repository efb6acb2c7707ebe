"""The conversation URL parser on every shape seen in the wild, and on hostile input."""

import pytest

from linking.conversation_urls import (
    ConversationRefError,
    conversation_web_url,
    find_conversation_refs,
    parse_conversation_ref,
)


@pytest.mark.parametrize(
    ("text", "app_id", "conversation_id", "region"),
    [
        ("https://app.intercom.io/a/apps/abc123/inbox/inbox/all/conversations/215467313", "abc123", "215467313", "us"),
        ("https://app.intercom.io/a/apps/abc123/inbox/inbox/1234567/conversations/9", "abc123", "9", "us"),
        ("https://app.intercom.io/a/apps/abc123/conversations/215467313", "abc123", "215467313", "us"),
        ("https://app.intercom.io/a/apps/abc123/inbox/conversation/215467313", "abc123", "215467313", "us"),
        (
            "https://app.intercom.com/a/inbox/abc123/inbox/shared/all/conversation/215467313#part_id=comment-2154-9",
            "abc123",
            "215467313",
            "us",
        ),
        ("https://app.intercom.com/a/inbox/abc123/inbox/conversation/215467313?view=List", "abc123", "215467313", "us"),
        ("https://app.intercom.com/a/inbox/abc123/inbox/admin/4411/conversation/77/", "abc123", "77", "us"),
        ("https://app.intercom.com/a/inbox/abc123/inbox/search/conversation/77?query=refund", "abc123", "77", "us"),
        ("https://app.eu.intercom.com/a/inbox/eu9xyz/inbox/shared/all/conversation/88", "eu9xyz", "88", "eu"),
        ("https://app.au.intercom.com/a/inbox/au1/inbox/conversation/99#part_id=x", "au1", "99", "au"),
        ("https://app.eu.intercom.io/a/apps/eu9xyz/inbox/inbox/all/conversations/88", "eu9xyz", "88", "eu"),
        ("HTTPS://APP.INTERCOM.COM/a/inbox/ABC123/inbox/conversation/5", "abc123", "5", "us"),
        ("  https://app.intercom.com/a/inbox/abc123/inbox/conversation/5\n", "abc123", "5", "us"),
        ("https://app.intercom.com:443/a/inbox/abc123/inbox/conversation/5", "abc123", "5", "us"),
    ],
)
def test_it_reads_every_known_url_shape(text, app_id, conversation_id, region):
    ref = parse_conversation_ref(text)
    assert (ref.app_id, ref.conversation_id, ref.region) == (app_id, conversation_id, region)


@pytest.mark.parametrize(("text", "expected"), [("215467313", "215467313"), (" 42 ", "42"), ("007", "7")])
def test_a_bare_id_names_a_conversation_of_no_particular_workspace(text, expected):
    ref = parse_conversation_ref(text)
    assert ref.conversation_id == expected
    assert ref.app_id is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0",
        "12a",
        "-5",
        "1" * 25,
        "١٢٣",  # Arabic-Indic digits pass str.isdigit(), not us
        "javascript:alert(1)//app.intercom.com/a/inbox/x/inbox/conversation/1",
        "data:text/html,<script>alert(1)</script>",
        "ftp://app.intercom.com/a/inbox/abc/inbox/conversation/1",
        "https://evil.example/a/inbox/abc/inbox/conversation/1",
        "https://app.intercom.com.evil.example/a/inbox/abc/inbox/conversation/1",
        "https://evilapp.intercom.com/a/inbox/abc/inbox/conversation/1",
        "https://app.intercom.com@evil.example/a/inbox/abc/inbox/conversation/1",
        "https://user:pw@app.intercom.com/a/inbox/abc/inbox/conversation/1",
        "https://app.intercom.com:8443/a/inbox/abc/inbox/conversation/1",
        "https://app.intercom.com/a/inbox/abc/inbox/conversation/",
        "https://app.intercom.com/a/inbox/abc/inbox/conversation/1;drop",
        "https://app.intercom.com/a/inbox/abc/inbox/conversation/1%2F2",
        "https://app.intercom.com/a/inbox/abc/inbox/conversation/<script>",
        "https://app.intercom.com/a/inbox/ab%2Fc/inbox/conversation/1",
        "https://app.intercom.com/a/inbox/abc/inbox/contacts/1",
        "https://app.intercom.com/conversation/1",
        "https://app.intercom.com/a/inbox/abc/inbox/conversation/1 https://app.intercom.com/a/x",
        "https://app.intercom.com/a/inbox/abc/inbox/conversation/1\r\nSet-Cookie: x",
        "https://[::1/a/inbox/abc/inbox/conversation/1",
        "https://app.intercom.com/a/inbox/" + "x/" * 1200 + "conversation/1",
        None,
        12345,
    ],
)
def test_it_refuses_what_is_not_a_conversation_url_or_id(text):
    with pytest.raises(ConversationRefError) as refused:
        parse_conversation_ref(text)
    assert str(refused.value)  # always a message for the user


def test_it_names_the_host_it_refused():
    with pytest.raises(ConversationRefError, match=r"evil\.example"):
        parse_conversation_ref("https://evil.example/a/inbox/abc/inbox/conversation/1")


def test_it_finds_each_conversation_url_in_free_text_once():
    text = (
        "Customer reports it in https://app.intercom.com/a/inbox/abc/inbox/conversation/11#part_id=1, "
        "again [here|https://app.intercom.io/a/apps/abc/inbox/inbox/all/conversations/12] and "
        "(https://app.intercom.com/a/inbox/abc/inbox/conversation/11). Not https://example.com/conversation/13."
    )
    assert [r.conversation_id for r in find_conversation_refs(text)] == ["11", "12"]


def test_it_finds_urls_inside_an_adf_document_dumped_as_json():
    adf = '{"type":"inlineCard","attrs":{"url":"https://app.eu.intercom.com/a/inbox/eu1/inbox/conversation/5"}}'
    assert [(r.app_id, r.conversation_id) for r in find_conversation_refs(adf)] == [("eu1", "5")]


def test_the_open_in_intercom_url_uses_the_regions_host_and_round_trips():
    url = conversation_web_url(app_id="eu1", region="eu", conversation_id="5")
    assert url.startswith("https://app.eu.intercom.com/")
    ref = parse_conversation_ref(url)
    assert (ref.app_id, ref.conversation_id, ref.region) == ("eu1", "5", "eu")

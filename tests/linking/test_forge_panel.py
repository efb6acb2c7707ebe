"""The Jira issue panel's endpoints (Forge Remote): every call's Forge Invocation Token is verified against a
JWKS served by the Forge simulator, and the viewer sees exactly what their own Jira permission allows."""

import base64
import json
import time

import pytest
from django.test import override_settings

from connector import forge_tokens
from deliveries.models import Delivery
from linking.models import ConversationLink
from sandbox.forge import ForgeSimulator, new_key
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def forge(connected):
    with ForgeSimulator() as sim:
        forge_tokens._key_sets.clear()  # each test starts with no keys cached, as a fresh process does
        connected.site.jira_instance_id = connected.jira.cloud_id
        connected.site.save()
        with override_settings(
            FORGE_APP_ID=sim.app_id,
            FORGE_JWKS_URL=f"{sim.url}/.well-known/jwks.json",
            ATLASSIAN_API_URL=connected.jira.url,
        ):
            yield sim
        forge_tokens._key_sets.clear()


@pytest.fixture
def engineer(connected):
    """A Jira user with a connector account (Agent role) mapped to their Jira account."""
    jira_user = connected.jira.add_user("Eve Engineer", "eve@example.com")
    user = factories.UserFactory(role="Agent")
    factories.ProfileFactory(user=user, jira_account_id=jira_user["accountId"])
    return jira_user, user


def call(client, token, path, *, method="get", body=None, user_token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if user_token:
        headers["HTTP_X_FORGE_OAUTH_USER"] = user_token
    if body is None:
        return getattr(client, method)(path, **headers)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json", **headers)


def panel_url(issue) -> str:
    return f"/forge/issues/{issue['id']}/panel"


def test_the_panel_lists_the_linked_conversations_with_the_chosen_fields(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Cannot pay")
    connected.link(issue, conversation["id"])
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    response = call(client, token, panel_url(issue))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["issue"] == {"id": issue["id"], "key": issue["key"]}
    (card,) = body["links"]
    assert card["conversation_id"] == conversation["id"]
    assert card["url"].endswith(f"/conversation/{conversation['id']}")
    fields = {f["label"]: f["value"] for section in card["sections"] for f in section["fields"]}
    assert fields["Subject or first message"] == "Cannot pay"
    assert body["can_change"] is True and body["can_comment"] is True and body["can_reply"] is False


def test_the_glance_counts_the_links_without_asking_intercom(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    for conversation_id in ("11", "12", "13"):
        connected.link(issue, conversation_id)
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    before = connected.intercom.stats()["statuses"]
    assert call(client, token, f"/forge/issues/{issue['id']}/count").json() == {"count": 3}
    assert connected.intercom.stats()["statuses"] == before


def _tampered(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_token_is_refused(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id="someone-else", issue=issue)
    response = call(client, _tampered(token, principal=jira_user["accountId"]), panel_url(issue))
    assert response.status_code == 401
    assert "signature does not match" in response.json()["detail"]


def test_an_expired_token_is_refused(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    past = int(time.time()) - 3600
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue, iat=past, exp=past + 60)
    response = call(client, token, panel_url(issue))
    assert response.status_code == 401
    assert response.json()["detail"] == "The token has expired."


def test_a_token_for_another_app_is_refused(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(
        connected.jira, account_id=jira_user["accountId"], issue=issue, aud="ari:cloud:ecosystem::app/someone-elses"
    )
    response = call(client, token, panel_url(issue))
    assert response.status_code == 401
    assert "another Forge app" in response.json()["detail"]


def test_a_token_not_issued_by_forge_is_refused(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue, iss="someone")
    assert call(client, token, panel_url(issue)).status_code == 401


def test_a_token_signed_with_an_unpublished_key_is_refused_and_fetches_the_keys_at_most_once(
    connected, forge, engineer, client
):
    jira_user, _ = engineer
    issue = connected.issue()
    good = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    assert call(client, good, panel_url(issue)).status_code == 200
    assert forge.jwks_fetches == 1
    claims = forge.claims(
        account_id=jira_user["accountId"], issue=issue, project={"id": connected.project.project_id, "key": "SUP"},
        cloud_id=connected.jira.cloud_id, site_url=connected.jira.url, api_base_url="",
    )
    for n in range(3):
        stranger = forge.sign(claims, kid=f"made-up-{n}", key=new_key())
        response = call(client, stranger, panel_url(issue))
        assert response.status_code == 401
        assert "key Atlassian does not publish" in response.json()["detail"]
    assert forge.jwks_fetches == 1  # made-up kids do not make every request fetch the keys


def test_a_key_atlassian_rotates_in_is_fetched_when_first_seen(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    assert call(client, token, panel_url(issue)).status_code == 200
    forge.rotate()
    with override_settings(FORGE_JWKS_REFRESH_SECONDS=0):
        token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
        assert call(client, token, panel_url(issue)).status_code == 200
    assert forge.jwks_fetches == 2


def test_a_token_replayed_for_another_issue_is_refused(connected, forge, engineer, client):
    jira_user, _ = engineer
    mine, other = connected.issue("Mine"), connected.issue("Other")
    connected.link(other, "77")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=mine)
    for path, method, body in [
        (panel_url(other), "get", None),
        (f"/forge/issues/{other['key']}/count", "get", None),
        (f"/forge/issues/{other['id']}/links", "post", {"conversation": "78"}),
        (f"/forge/issues/{other['id']}/comments", "post", {"body": "hello"}),
    ]:
        response = call(client, token, path, method=method, body=body)
        assert response.status_code == 403, path
        assert f"issued for issue {mine['key']}" in response.json()["detail"]
    assert ConversationLink.objects.filter(issue_id=other["id"]).count() == 1
    assert not Delivery.objects.exists()


def test_a_link_in_the_path_of_another_issue_cannot_be_unlinked(connected, forge, engineer, client):
    jira_user, _ = engineer
    mine, other = connected.issue("Mine"), connected.issue("Other")
    theirs = connected.link(other, "77")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=mine)
    response = call(client, token, f"/forge/issues/{mine['id']}/links/{theirs.pk}", method="delete")
    assert response.status_code == 404
    assert ConversationLink.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    "authorization",
    ["", "Basic Zm9vOmJhcg==", "Bearer not-a-jwt", "Bearer " + ".".join(["eyJhbGciOiJub25lIn0", "e30", ""])],
)
def test_calls_without_a_forge_token_are_refused(connected, forge, client, authorization):
    issue = connected.issue()
    response = client.get(panel_url(issue), HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_without_an_app_id_the_service_accepts_no_forge_call_and_says_so(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    with override_settings(FORGE_APP_ID=""):
        response = call(client, token, panel_url(issue))
    assert response.status_code == 401
    assert "FORGE_APP_ID" in response.json()["detail"]


def test_a_site_that_is_not_connected_is_named(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    connected.site.jira_instance_id = "another-cloud"
    connected.site.base_url = "https://elsewhere.example.com"
    connected.site.save()
    response = call(client, token, panel_url(issue))
    assert response.status_code == 404
    assert "is not connected to this service" in response.json()["detail"]


def test_link_unlink_and_comment_from_the_panel(connected, forge, engineer, client, redis_client, enqueued):
    jira_user, user = engineer
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Refund")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    links_url = f"/forge/issues/{issue['id']}/links"
    linked = call(client, token, links_url, method="post", body={"conversation": conversation["id"]})
    assert linked.status_code == 201, linked.content
    link = ConversationLink.objects.get(pk=linked.json()["id"])
    assert (link.issue_id, link.conversation_id, link.created_by) == (issue["id"], conversation["id"], user)
    again = call(client, token, links_url, method="post", body={"conversation": conversation["id"]})
    assert again.status_code == 200 and again.json()["created"] is False
    sent = call(client, token, f"/forge/issues/{issue['id']}/comments", method="post",
                body={"body": "Fixed in 4.2", "idempotency_key": "k1"})
    assert sent.status_code == 201, sent.content
    assert sent.json()["conversations"] == 1
    (delivery,) = Delivery.objects.all()
    assert (delivery.conversation_id, delivery.created_by) == (conversation["id"], user)
    replied = call(client, token, f"/forge/issues/{issue['id']}/comments", method="post",
                   body={"body": "Hello customer", "message_type": "comment"})
    assert replied.status_code == 403  # replies are off for the project, whatever the role
    gone = call(client, token, f"/forge/issues/{issue['id']}/links/{link.pk}", method="delete")
    assert gone.status_code == 204
    assert not ConversationLink.objects.filter(pk=link.pk).exists()


@pytest.mark.parametrize(
    "path, body",
    [
        ("links", {}),
        ("links", {"conversation": "https://app.intercom.com/a/inbox/other/inbox/conversation/5"}),
        ("links", {"conversation": "not a conversation"}),
        ("comments", {}),
        ("comments", {"body": "x", "message_type": "shout"}),
        ("comments", {"body": "x", "conversations": ["a"]}),
    ],
)
def test_bad_input_gets_a_clear_400(connected, forge, engineer, client, path, body):
    jira_user, _ = engineer
    issue = connected.issue()
    connected.link(issue, "5")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    response = call(client, token, f"/forge/issues/{issue['id']}/{path}", method="post", body=body)
    assert response.status_code == 400, response.content
    assert response.json()


def test_a_body_that_is_not_json_gets_a_400(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    response = client.post(f"/forge/issues/{issue['id']}/links", data=b"{nope", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400


def test_a_jira_user_without_a_connector_account_may_read_but_not_change(connected, forge, client):
    viewer = connected.jira.add_user("Val Viewer", "val@example.com")
    issue = connected.issue()
    connected.link(issue, "21")
    token = forge.token_for(connected.jira, account_id=viewer["accountId"], issue=issue)
    body = call(client, token, panel_url(issue)).json()
    assert [card["conversation_id"] for card in body["links"]] == ["21"]
    assert body["can_change"] is False and body["can_comment"] is False and body["viewer"] == {"mapped": False}
    response = call(client, token, f"/forge/issues/{issue['id']}/links", method="post", body={"conversation": "22"})
    assert response.status_code == 403
    with override_settings(FORGE_UNMAPPED_CAN_VIEW=False):
        response = call(client, token, panel_url(issue))
    assert response.status_code == 403
    assert "Sign in to the connector with Atlassian" in response.json()["detail"]


# --- least privilege: the viewer's own permission, through the user token Forge forwards -------------------


@pytest.fixture
def least_privilege(connected):
    """The app user holds no Administer Jira: it cannot ask Jira Cloud about anyone else's permissions."""
    connected.jira.set_global_permissions(connected.jira.app_user["accountId"], set())


def test_with_the_forwarded_user_token_the_viewers_own_permission_decides(
    connected, forge, engineer, client, least_privilege
):
    jira_user, _ = engineer
    issue = connected.issue()
    connected.link(issue, "31")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    user_token = connected.jira.issue_oauth_token(jira_user["accountId"])
    response = call(client, token, panel_url(issue), user_token=user_token)
    assert response.status_code == 200, response.content
    assert [card["conversation_id"] for card in response.json()["links"]] == ["31"]
    assert connected.jira.violations == []  # the calls as the viewer follow Jira's published contract


def test_a_viewer_whose_own_permission_does_not_allow_the_issue_sees_nothing(
    connected, forge, engineer, client, least_privilege
):
    jira_user, _ = engineer
    issue = connected.issue()
    connected.link(issue, "32")
    connected.jira.set_permissions(jira_user["accountId"], "SUP", set())
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    user_token = connected.jira.issue_oauth_token(jira_user["accountId"])
    response = call(client, token, panel_url(issue), user_token=user_token)
    assert response.status_code == 403
    assert "may not browse" in response.json()["detail"]
    assert "32" not in response.content.decode()


def test_without_a_user_token_a_least_privilege_app_user_cannot_confirm_and_the_panel_fails_closed(
    connected, forge, engineer, client, least_privilege
):
    jira_user, _ = engineer
    issue = connected.issue()
    connected.link(issue, "33")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    response = call(client, token, panel_url(issue))
    assert response.status_code == 403
    assert "Jira could not confirm" in response.json()["detail"]
    assert "keeps appUserToken enabled" in response.json()["detail"]  # the admin's fix, named


def test_a_user_token_is_only_ever_sent_to_atlassians_gateway(connected, forge, engineer, client, least_privilege):
    jira_user, _ = engineer
    issue = connected.issue()
    user_token = connected.jira.issue_oauth_token(jira_user["accountId"])
    token = forge.token_for(
        connected.jira, account_id=jira_user["accountId"], issue=issue,
        app={"id": forge.app_id, "apiBaseUrl": "http://127.0.0.1:9/ex/jira/x"},
    )
    response = call(client, token, panel_url(issue), user_token=user_token)
    assert response.status_code == 403  # the token is not used there: the app user's check applies and fails


def test_an_issue_with_many_links_is_paged_and_searchable_in_the_panel(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    for n in range(120):
        connected.link(issue, str(5000 + n))
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    first = call(client, token, panel_url(issue)).json()
    assert (first["total"], first["page"], first["pages"], len(first["links"])) == (120, 1, 3, 50)
    last = call(client, token, panel_url(issue) + "?page=3").json()
    assert [card["conversation_id"] for card in last["links"]] == [str(5000 + n) for n in range(100, 120)]
    found = call(client, token, panel_url(issue) + "?q=5117").json()
    assert (found["matching"], [card["conversation_id"] for card in found["links"]]) == (1, ["5117"])


@pytest.mark.parametrize("query", ["?page=0", "?page=x", "?q=" + "x" * 300])
def test_a_bad_panel_query_gets_a_400(connected, forge, engineer, client, query):
    jira_user, _ = engineer
    issue = connected.issue()
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    assert call(client, token, panel_url(issue) + query).status_code == 400


def test_the_panel_shows_linked_tickets_and_links_one(connected, forge, engineer, client):
    jira_user, _ = engineer
    issue = connected.issue()
    linked = connected.intercom.add_ticket(title="Refunds fail")
    other = connected.intercom.add_ticket(title="Second ticket")
    connected.link(issue, linked["id"], target_type="ticket")
    token = forge.token_for(connected.jira, account_id=jira_user["accountId"], issue=issue)
    (card,) = call(client, token, panel_url(issue)).json()["links"]
    assert (card["type"], card["ticket"]["title"], card["ticket"]["problem"]) == ("ticket", "Refunds fail", "")
    assert card["url"].endswith(f"/inbox/ticket/{linked['id']}")
    made = call(client, token, f"/forge/issues/{issue['id']}/links", method="post",
                body={"conversation": other["id"], "target_type": "ticket"})
    assert made.status_code == 201, made.content
    assert made.json()["type"] == "ticket"
    assert ConversationLink.objects.get(pk=made.json()["id"]).target_type == "ticket"

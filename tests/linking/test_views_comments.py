"""Commenting into an issue's linked conversations from the issue page and the API, against both simulators."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from deliveries import engine
from deliveries.models import Delivery
from sandbox.jira import APP_USER_TOKEN
from tests import factories
from tests.conftest import workspace_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(jira_sim, intercom_sim, redis_client):
    """SUP-n in the Jira simulator, connected to the Intercom simulator, with three linked conversations."""
    site = factories.JiraSiteFactory(base_url=jira_sim.url, account_email=jira_sim.app_user["emailAddress"],
                                     api_token=APP_USER_TOKEN, app_account_id=jira_sim.app_user["accountId"])
    workspace = workspace_for(intercom_sim)
    sup = next(p for p in jira_sim.projects.values() if p["key"] == "SUP")
    project = factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"],
                                                 project_key="SUP")
    created = jira_sim.create_issue("SUP", "Checkout fails")
    conversations = intercom_sim.add_conversations(3)
    links = [
        factories.ConversationLinkFactory(site=site, issue_id=created["id"], issue_key=created["key"],
                                          workspace=workspace, conversation_id=cid, source="ui")
        for cid in conversations
    ]
    return {"key": created["key"], "project": project, "workspace": workspace, "links": links,
            "conversations": conversations}


def agent(*codes):
    """A user who sees every issue (manages connections) with the given extra permissions."""
    user = factories.UserFactory()
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="accounts", codename__in=("view_links", "manage_connections", *codes)))
    return user


def url(issue) -> str:
    return reverse("issue_comment", args=[issue["key"]])


def test_a_note_goes_into_every_linked_conversation(admin_client, admin_user, issue, intercom_sim):
    response = admin_client.post(url(issue), {"body": "We found the cause.\nA fix is coming."}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("issue_detail", args=[issue["key"]]))
    assert "on its way to 3 conversations" in response.content.decode()
    rows = Delivery.objects.all()
    assert {(d.source, d.action, d.created_by_id) for d in rows} == {("comment", "note", admin_user.pk)}
    engine.pump(issue["workspace"].pk)
    assert intercom_sim.counts_by_conversation("note") == dict.fromkeys(issue["conversations"], 1)
    (entry,) = intercom_sim.writes_for(issue["conversations"][0], "note")
    assert "We found the cause.<br>A fix is coming." in entry.body


def test_only_the_chosen_conversations_get_the_note(admin_client, issue):
    chosen = issue["links"][1]
    admin_client.post(url(issue), {"body": "Only you", "conversations": [chosen.pk]})
    assert list(Delivery.objects.values_list("conversation_id", flat=True)) == [chosen.conversation_id]


def test_the_preview_shows_the_html_and_sends_nothing(admin_client, issue):
    response = admin_client.post(url(issue), {"body": "*Fixed* in <b>2.4</b>", "markup": "wiki", "preview": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and Delivery.objects.count() == 0
    assert "<b>Fixed</b>" in page and "&lt;b&gt;2.4&lt;/b&gt;" in page
    assert 'name="form_token" value="' in page


def test_a_double_submitted_form_posts_once(admin_client, issue):
    form = {"body": "Deployed", "form_token": "f0rm-1"}
    admin_client.post(url(issue), form)
    response = admin_client.post(url(issue), form, follow=True)
    assert Delivery.objects.count() == 3
    assert "already sent" in response.content.decode()


def test_a_double_submit_of_the_issue_page_form_without_a_token_posts_once(admin_client, issue):
    admin_client.post(url(issue), {"body": "Deployed"})
    admin_client.post(url(issue), {"body": "Deployed"})
    assert Delivery.objects.count() == 3
    admin_client.post(url(issue), {"body": "Something else"})
    assert Delivery.objects.count() == 6


def test_a_reply_is_refused_where_the_project_does_not_allow_it(admin_client, issue):
    response = admin_client.post(url(issue), {"body": "Hello customer", "message_type": "comment"}, follow=True)
    assert Delivery.objects.count() == 0
    assert "Customer-visible replies are turned off for project SUP" in response.content.decode()


def test_a_reply_goes_out_as_a_customer_reply_where_allowed(admin_client, issue, intercom_sim):
    issue["project"].customer_replies_allowed = True
    issue["project"].save()
    admin_client.post(url(issue), {"body": "Hello customer", "message_type": "comment",
                                   "conversations": [issue["links"][0].pk]})
    (delivery,) = Delivery.objects.all()
    assert delivery.action == "reply"
    engine.pump(issue["workspace"].pk)
    assert intercom_sim.counts_by_conversation("comment") == {issue["conversations"][0]: 1}


def test_a_reply_needs_the_reply_permission_even_where_the_project_allows_it(client, issue):
    issue["project"].customer_replies_allowed = True
    issue["project"].save()
    client.force_login(agent("comment_note"))
    response = client.post(url(issue), {"body": "Hi", "message_type": "comment"}, follow=True)
    assert Delivery.objects.count() == 0 and "permission to reply" in response.content.decode()


def test_a_note_needs_the_comment_permission(client, issue):
    client.force_login(agent())
    response = client.post(url(issue), {"body": "Hi"}, follow=True)
    assert Delivery.objects.count() == 0 and "may not add internal notes" in response.content.decode()


def test_commenting_is_refused_without_view_links(client, issue):
    user = factories.UserFactory()
    client.force_login(user)
    assert client.post(url(issue), {"body": "Hi"}).status_code == 403
    assert Delivery.objects.count() == 0


def test_an_empty_message_is_refused(admin_client, issue):
    response = admin_client.post(url(issue), {"body": "   "}, follow=True)
    assert Delivery.objects.count() == 0 and "Write a message first" in response.content.decode()


def test_the_api_posts_a_comment_once_per_idempotency_key(admin_client, issue):
    api = reverse("api_issue_comment", args=[issue["key"]])
    body = {"body": "From the API", "idempotency_key": "k-1"}
    first = admin_client.post(api, body, content_type="application/json")
    again = admin_client.post(api, body, content_type="application/json")
    assert (first.status_code, first.json()["created"]) == (201, 3)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    preview = admin_client.post(api, {"body": "x", "preview": True}, content_type="application/json")
    # An internal note names its author and the issue (Intercom shows it as written by the app user).
    assert preview.json()["body_html"] == f"<p><b>{issue_user(admin_client)}</b> on <b>{issue['key']}</b>:</p><p>x</p>"
    assert Delivery.objects.count() == 3


def test_the_api_refuses_replies_where_not_allowed(admin_client, issue):
    api = reverse("api_issue_comment", args=[issue["key"]])
    response = admin_client.post(api, {"body": "Hi", "message_type": "comment"}, content_type="application/json")
    assert response.status_code == 403 and "turned off" in response.json()["detail"]
    assert Delivery.objects.count() == 0


def issue_user(client) -> str:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"]).username

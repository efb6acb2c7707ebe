"""The Canvas Kit endpoints: only Intercom's signed requests for a known workspace are answered, always with
a canvas valid against the 2.11 schemas, and a request we cannot read is a 400, never a 500."""

from sandbox import canvas as sim_canvas
from tests import factories
from tests.inbox.conftest import component, texts


def test_a_signed_initialize_shows_the_home_canvas(inbox):
    home = inbox.initialize()

    assert "No Jira issue is linked to this conversation yet." in texts(home)
    assert component(home, "create")["label"] == "Create issue"
    assert component(home, "link")["label"] == "Link existing issue"


def test_a_tampered_body_is_refused(inbox):
    payload = inbox.requests().initialize()
    raw, headers = sim_canvas.signed(payload, "inbox-client-secret")
    tampered = raw.replace(b'"Tess Teammate"', b'"Mallory Admin"')

    response = inbox.client.post(
        f"/inbox/{inbox.workspace.public_id}/initialize", data=tampered, content_type="application/json",
        HTTP_X_BODY_SIGNATURE=headers["X-Body-Signature"],
    )

    assert response.status_code == 401
    assert "X-Body-Signature" in response.json()["error"]


def test_a_request_without_signature_is_refused(inbox):
    response = inbox.post("initialize", inbox.requests().initialize(), headers={})

    assert response.status_code == 401


def test_a_request_signed_with_another_secret_is_refused(inbox):
    response = inbox.post("initialize", inbox.requests().initialize(), secret="someone-elses-secret")

    assert response.status_code == 401


def test_an_unknown_workspace_url_is_refused(inbox):
    response = inbox.post("initialize", inbox.requests().initialize(),
                          public_id="00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404


def test_a_workspace_without_client_secret_refuses_everything(inbox):
    inbox.workspace.client_secret = ""
    inbox.workspace.save()

    assert inbox.post("initialize", inbox.requests().initialize()).status_code == 401


def test_a_request_for_another_intercom_workspace_is_refused(inbox):
    payload = {**inbox.requests().initialize(), "workspace_id": "otherws"}

    response = inbox.post("initialize", payload)

    assert response.status_code == 403


def test_signed_nonsense_is_a_400(inbox):
    raw = b"[1, 2"
    signature = sim_canvas.body_signature(raw, "inbox-client-secret")
    url = f"/inbox/{inbox.workspace.public_id}/submit"

    not_json = inbox.client.post(url, data=raw, content_type="application/json", HTTP_X_BODY_SIGNATURE=signature)
    no_admin = inbox.post("submit", {"workspace_id": "sandbox1", "component_id": "home"})
    no_component = inbox.post("submit", {k: v for k, v in inbox.requests().submit("home", {}).items()
                                          if k != "component_id"})

    assert not_json.status_code == 400
    assert no_admin.status_code == 400 and "admin" in no_admin.json()["error"]
    assert no_component.status_code == 400 and "component_id" in no_component.json()["error"]


def test_only_post_is_answered(inbox):
    assert inbox.client.get(f"/inbox/{inbox.workspace.public_id}/initialize").status_code == 405


def test_an_unknown_button_shows_the_home_canvas(inbox):
    home = inbox.click("no-such-button", {"content": {"components": []}})

    assert component(home, "create")


def test_a_slow_jira_gives_an_error_canvas_whose_retry_repeats_the_step(inbox, settings):
    settings.INBOX_VENDOR_TIMEOUT_SECONDS = 1.5
    inbox.jira.create_issue("SUP", "Checkout button does nothing")
    inbox.jira.faults.latency = 5

    search = inbox.click("link_search", {"content": {"components": []}}, {"query": "checkout"})

    assert "Could not search Jira" in texts(search)
    assert "did not answer within 1.5 seconds" in texts(search)
    assert component(search, "retry")["action"] == {"type": "submit"}
    inbox.jira.faults.latency = 0
    again = inbox.click("retry", search)
    assert "Checkout button does nothing" in texts(again)


def test_home_with_jira_unreachable_still_lists_the_links_it_knows(inbox, settings):
    settings.INBOX_VENDOR_TIMEOUT_SECONDS = 1.5
    issue = inbox.jira.create_issue("SUP", "Checkout fails")
    factories.ConversationLinkFactory(site=inbox.site, workspace=inbox.workspace, issue_id=issue["id"],
                                      issue_key=issue["key"], conversation_id=inbox.conversation["id"])
    inbox.jira.faults.latency = 5

    home = inbox.initialize()

    assert issue["key"] in texts(home)
    assert "did not answer" in texts(home)
    assert component(home, "home")["label"] == "Retry"


def test_a_body_over_the_limit_is_refused(inbox, settings):
    settings.INBOX_MAX_BODY_BYTES = 1000
    payload = {**inbox.requests().initialize(), "padding": "x" * 2000}

    assert inbox.post("initialize", payload).status_code == 413


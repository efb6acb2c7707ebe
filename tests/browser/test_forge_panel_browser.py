"""The Forge app's Custom UI (forge/) in a real Chromium, against a stand-in of the Forge bridge.

The page is the app's own index.html with `@forge/bridge` mapped to a shim: its `invokeRemote` sends the call
to /remote/…, where the test does what Forge does — adds a Forge Invocation Token signed by the Forge simulator
(and the viewer's user token) — and forwards it to the live server.
"""

import json
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from connector import forge_tokens
from deliveries.models import Delivery
from linking import tasks
from linking.models import ConversationLink
from sandbox.forge import ForgeSimulator
from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORGE = Path(__file__).resolve().parents[2] / "forge"
APP = "http://forge-app.test"
SHIM = """
const context = %s;
export const view = { getContext: async () => context };
export const router = { open: async (url) => { window.opened = url; } };
export async function invokeRemote({ path, method, body }) {
  const init = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch("/remote" + path, init);
  const text = await response.text();
  if (!response.ok) throw new Error(text);
  return text ? JSON.parse(text) : undefined;
}
"""


@pytest.fixture
def world(transactional_db, enqueued):
    with JiraSimulator(deployment="cloud") as jira, IntercomSimulator() as intercom, ForgeSimulator() as forge:
        app_user = jira.app_user  # least privilege: no Administer Jira, so only the user token can tell
        site = factories.JiraSiteFactory(
            base_url=jira.url, account_email=app_user["emailAddress"], api_token=APP_USER_TOKEN,
            app_account_id=app_user["accountId"], jira_instance_id=jira.cloud_id,
        )
        workspace = factories.IntercomWorkspaceFactory(
            workspace_id="sandbox1", api_base_url=intercom.url, access_token=intercom.default_token,
            app_admin_id=intercom.app_admin["id"],
        )
        sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
        factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"], project_key="SUP")
        forge_tokens._key_sets.clear()
        with override_settings(
            FORGE_APP_ID=forge.app_id, FORGE_JWKS_URL=f"{forge.url}/.well-known/jwks.json", ATLASSIAN_API_URL=jira.url
        ):
            yield jira, intercom, forge, site, workspace
        forge_tokens._key_sets.clear()


def open_app(page, live_server, jira, forge, *, account_id, issue, module="intercom-conversations-panel"):
    """Serve forge/ to the page with the bridge replaced, and forward its remote calls like Forge does."""
    context = {"moduleKey": module, "accountId": account_id, "cloudId": jira.cloud_id,
               "extension": {"type": "jira:issuePanel", "issue": {"id": issue["id"], "key": issue["key"]}}}
    files = {
        "/index.html": FORGE / "static/panel/index.html",
        "/panel.css": FORGE / "static/panel/panel.css",
        "/main.js": FORGE / "src/main.js",  # unbundled: the import map below resolves @forge/bridge
        "/panel.js": FORGE / "src/panel.js",
    }
    user_token = jira.issue_oauth_token(account_id)

    def serve(route):
        path = route.request.url.removeprefix(APP)
        if path.startswith("/remote/"):
            token = forge.token_for(jira, account_id=account_id, issue=issue)
            headers = {**route.request.headers, "authorization": f"Bearer {token}", "x-forge-oauth-user": user_token}
            answer = route.fetch(url=live_server.url + path.removeprefix("/remote"), headers=headers)
            route.fulfill(response=answer)
        elif path == "/bridge-shim.js":
            route.fulfill(body=SHIM % json.dumps(context), content_type="text/javascript")
        elif path == "/index.html":
            html = files[path].read_text().replace(
                "<head>", '<head><script type="importmap">{"imports":{"@forge/bridge":"./bridge-shim.js"}}</script>'
            )
            route.fulfill(body=html, content_type="text/html")
        elif path in files:
            kind = "text/css" if path.endswith(".css") else "text/javascript"
            route.fulfill(body=files[path].read_text(), content_type=kind)
        else:
            route.fulfill(status=404, body="not found")

    page.route(f"{APP}/**", serve)
    page.goto(f"{APP}/index.html")
    return page


def test_an_engineer_reads_links_unlinks_and_comments_in_the_panel(world, page, live_server):
    jira, intercom, forge, site, workspace = world
    jira_user = jira.add_user("Eve Engineer", "eve@example.com")
    user = factories.UserFactory(role="Agent")
    factories.ProfileFactory(user=user, jira_account_id=jira_user["accountId"])
    issue = jira.create_issue("SUP", "Checkout fails")
    first = intercom.add_conversation(subject="Cannot pay by card")
    second = intercom.add_conversation(subject="Refund twice")
    factories.ConversationLinkFactory(site=site, workspace=workspace, issue_id=issue["id"], issue_key=issue["key"],
                                      conversation_id=first["id"], source="ui")
    tasks.snapshots_refresh()  # what the background refresh does: the panel reads stored snapshots only
    open_app(page, live_server, jira, forge, account_id=jira_user["accountId"], issue=issue)
    cards = page.get_by_test_id("card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Cannot pay by card")

    page.get_by_label("Conversation URL or id").fill(second["id"])
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_test_id("status")).to_contain_text(f"Conversation {second['id']} is now linked.")
    expect(cards).to_have_count(2)
    expect(cards.nth(1)).to_contain_text("not fetched yet")
    tasks.snapshots_refresh()
    page.reload()
    expect(page.get_by_text("Refund twice")).to_be_visible()

    page.get_by_label("Comment").fill("The fix ships today.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("status")).to_contain_text("Your note is on its way to 2 conversations.")
    assert {d.conversation_id for d in Delivery.objects.all()} == {first["id"], second["id"]}

    cards.filter(has_text="Cannot pay by card").get_by_role("button", name="Unlink").click()
    expect(page.get_by_test_id("status")).to_contain_text(f"Conversation {first['id']} is no longer linked.")
    expect(cards).to_have_count(1)
    assert list(ConversationLink.objects.values_list("conversation_id", flat=True)) == [second["id"]]


def test_the_glance_shows_the_count(world, page, live_server):
    jira, _intercom, forge, site, workspace = world
    viewer = jira.add_user("Val Viewer", "val@example.com")
    issue = jira.create_issue("SUP", "Counted")
    for conversation_id in ("1", "2"):
        factories.ConversationLinkFactory(site=site, workspace=workspace, issue_id=issue["id"],
                                          issue_key=issue["key"], conversation_id=conversation_id, source="ui")
    open_app(page, live_server, jira, forge, account_id=viewer["accountId"], issue=issue,
             module="intercom-conversations-glance")
    expect(page.get_by_test_id("count")).to_have_text("2")


def test_a_viewer_whose_jira_permission_does_not_allow_the_issue_sees_why_and_nothing_else(world, page, live_server):
    jira, intercom, forge, site, workspace = world
    viewer = jira.add_user("Nora Nosy", "nora@example.com")
    jira.set_permissions(viewer["accountId"], "SUP", set())
    issue = jira.create_issue("SUP", "Private")
    secret = intercom.add_conversation(subject="Secret customer")
    factories.ConversationLinkFactory(site=site, workspace=workspace, issue_id=issue["id"], issue_key=issue["key"],
                                      conversation_id=secret["id"], source="ui")
    open_app(page, live_server, jira, forge, account_id=viewer["accountId"], issue=issue)
    expect(page.get_by_test_id("refusal")).to_contain_text(f"Your Jira account may not browse {issue['key']}")
    expect(page.get_by_text("Secret customer")).to_have_count(0)


def test_an_issue_with_many_links_pages_and_searches_in_the_panel(world, page, live_server):
    jira, _intercom, forge, site, workspace = world
    viewer = jira.add_user("Val Viewer", "val@example.com")
    issue = jira.create_issue("SUP", "Popular")
    for n in range(60):
        factories.ConversationLinkFactory(site=site, workspace=workspace, issue_id=issue["id"], issue_key=issue["key"],
                                          conversation_id=str(7000 + n), source="ui")
    open_app(page, live_server, jira, forge, account_id=viewer["accountId"], issue=issue)
    expect(page.get_by_test_id("summary")).to_contain_text("60 conversations linked")
    expect(page.get_by_test_id("card")).to_have_count(50)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.get_by_test_id("card")).to_have_count(10)
    page.get_by_label("Search linked conversations").fill("7042")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("summary")).to_contain_text("1 matching “7042”")
    expect(page.get_by_test_id("card")).to_have_count(1)

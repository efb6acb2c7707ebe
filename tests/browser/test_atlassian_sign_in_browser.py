"""Sign in with Atlassian in a real Chromium: the sign-in page, the sandbox's consent page, and back."""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from sandbox.atlassian_auth import AuthorizationServer
from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cloud(transactional_db, live_server):
    """A connected Cloud site offering Sign in with Atlassian; its app user holds no Administer Jira."""
    with JiraSimulator(deployment="cloud") as jira, IntercomSimulator() as intercom:
        auth = AuthorizationServer(jira)
        auth.add_client("connector", "secret", f"{live_server.url}/sign-in/atlassian/callback")
        site = factories.JiraSiteFactory(
            name="Acme Jira", base_url=jira.url, account_email=jira.app_user["emailAddress"],
            api_token=APP_USER_TOKEN, app_account_id=jira.app_user["accountId"], jira_instance_id=jira.cloud_id,
            oauth_client_id="connector", oauth_client_secret="secret",
        )
        workspace = factories.IntercomWorkspaceFactory(api_base_url=intercom.url, access_token=intercom.default_token)
        for key in ("SUP", "SEC"):
            project = next((p for p in jira.projects.values() if p["key"] == key), None) or jira.add_project(key, key)
            factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=project["id"],
                                               project_key=key)
        bea = jira.add_user("Bea Engineer", "bea@example.com")
        auth.set_password(bea, "jira password")
        jira.set_permissions(bea["accountId"], "SEC", set())
        with override_settings(ATLASSIAN_AUTH_URL=jira.url, ATLASSIAN_API_URL=jira.url):
            yield jira, site, workspace


def _consent(page, live_server, *, decision):
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Atlassian (Acme Jira)").click()
    expect(page.get_by_role("heading", name="Share your Jira account?")).to_be_visible()
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password").fill("jira password")
    page.get_by_role("button", name=decision).click()


def test_a_jira_user_signs_in_with_atlassian_and_sees_what_jira_lets_them(cloud, page, live_server):
    jira, site, workspace = cloud
    mine, secret = jira.create_issue("SUP", "Checkout fails"), jira.create_issue("SEC", "Breach")
    for issue, conversation_id in ((mine, "11"), (secret, "12")):
        factories.ConversationLinkFactory(site=site, workspace=workspace, issue_id=issue["id"],
                                          issue_key=issue["key"], conversation_id=conversation_id, source="ui")
    _consent(page, live_server, decision="Accept")
    expect(page.get_by_text("Signed in with Atlassian as Bea Engineer")).to_be_visible()
    page.goto(f"{live_server.url}/issues/{mine['key']}/")
    expect(page.get_by_text("Checkout fails")).to_be_visible()
    page.goto(f"{live_server.url}/issues/{secret['key']}/")
    expect(page.get_by_test_id("refusal")).to_contain_text(f"Your Jira account may not browse {secret['key']}")


def test_declining_consent_ends_on_a_page_that_says_so(cloud, page, live_server):
    _consent(page, live_server, decision="Deny")
    expect(page.get_by_test_id("sign-in-problem")).to_contain_text("You declined to share your Jira account")

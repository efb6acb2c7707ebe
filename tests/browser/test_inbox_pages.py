"""The Inbox app's admin pages in a real browser: the URLs to paste, the app information, and setting up the
create-issue form of a project; then the Inbox's create form asks what was set up."""

import pytest
from playwright.sync_api import expect

from inbox.models import CreateIssueForm
from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from sandbox.jira_create import SEVERITY_FIELD
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    with JiraSimulator(deployment="cloud") as jira, IntercomSimulator() as intercom:
        site = factories.JiraSiteFactory(
            base_url=jira.url, account_email=jira.app_user["emailAddress"], api_token=APP_USER_TOKEN,
            app_account_id=jira.app_user["accountId"], app_display_name=jira.app_user["displayName"],
        )
        workspace = factories.IntercomWorkspaceFactory(
            name="Acme support", workspace_id="sandbox1", api_base_url=intercom.url,
            access_token=intercom.default_token, app_admin_name="Jira Connector",
        )
        sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
        project = factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"],
                                                     project_key="SUP", project_name="Support")
        teammate = intercom.add_admin("Tess Teammate", "tess@example.com")
        yield jira, workspace, project, teammate


def test_an_admin_reads_the_setup_and_sets_up_the_create_form(setup, log_in, live_server):
    jira, workspace, project, teammate = setup
    page = log_in(factories.UserFactory(role="Admin"))

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Inbox app").click()
    expect(page.get_by_role("heading", name="Acme support")).to_be_visible()
    expect(page.get_by_test_id("initialize-url")).to_have_text(
        f"{live_server.url}/inbox/{workspace.public_id}/initialize")
    expect(page.get_by_test_id("submit-url")).to_have_text(f"{live_server.url}/inbox/{workspace.public_id}/submit")
    information = page.locator("table.app-information")
    expect(information).to_contain_text(jira.url)
    expect(information).to_contain_text("Intercom Connector")
    expect(information).to_contain_text("Jira Connector")
    expect(information).to_contain_text("Canvas Kit 2.11")

    page.get_by_role("link", name="Edit form").click()
    page.get_by_label("Issue type").select_option(label="Bug")
    page.get_by_role("button", name="Show its fields").click()
    expect(page.locator(f"tr[data-field='{SEVERITY_FIELD}']")).to_contain_text("always")
    page.get_by_label("Ask Priority").check()
    page.get_by_label("Default Priority").select_option(label="High")
    page.get_by_label("Ask Labels").check()
    page.get_by_label("Tess Teammate").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("The create-issue form of SUP was saved.")).to_be_visible()
    form = CreateIssueForm.objects.get(project=project)
    assert [f["id"] for f in form.fields] == ["priority", "labels", SEVERITY_FIELD]
    assert form.allowed_admin_ids == [teammate["id"]]
    page.get_by_role("link", name="← Intercom Inbox app").click()
    row = page.locator("table.inbox-forms tr", has_text="SUP")
    expect(row).to_contain_text("Bug")
    expect(row).to_contain_text("Priority, Labels, Severity *")
    expect(row).to_contain_text("1 teammate, 0 teams")

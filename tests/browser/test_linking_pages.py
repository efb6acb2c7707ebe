"""The issue view, the visible-fields editor and the report in a real browser."""

from pathlib import Path

import pytest
from django.db import transaction
from playwright.sync_api import expect

from linking import services, tasks
from linking.models import ConversationLink
from linking.services import IssueTarget
from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sims():
    with JiraSimulator(deployment="cloud") as jira, IntercomSimulator() as intercom:
        yield jira, intercom


@pytest.fixture
def setup(sims, transactional_db):
    jira, intercom = sims
    site = factories.JiraSiteFactory(
        base_url=jira.url,
        account_email=jira.app_user["emailAddress"],
        api_token=APP_USER_TOKEN,
        app_account_id=jira.app_user["accountId"],
    )
    workspace = factories.IntercomWorkspaceFactory(
        workspace_id="sandbox1", api_base_url=intercom.url, access_token=intercom.default_token
    )
    sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
    factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"], project_key="SUP")
    return jira, intercom, site, workspace


def _link(site, workspace, issue, conversation_id):
    target = IssueTarget(
        site=site,
        issue_id=issue["id"],
        issue_key=issue["key"],
        project_key="SUP",
        summary=issue["fields"]["summary"] if "fields" in issue else "",
    )
    with transaction.atomic():
        services.link_create(target=target, workspace=workspace, conversation_id=conversation_id, source="ui")
    tasks.snapshots_refresh()  # what the background refresh does for a new link


def test_a_jira_user_links_reads_and_unlinks_conversations_on_the_issue_page(setup, log_in, live_server):
    jira, intercom, _site, _workspace = setup
    issue = jira.create_issue("SUP", "Payments time out")
    contact = intercom.add_contact(name="Grace Hopper", email="grace@navy.example")
    conversation = intercom.add_conversation(subject="Card declined <b>twice</b>", contact=contact, tags=["vip"])
    page = log_in(factories.UserFactory(role="Admin"))

    page.goto(f"{live_server.url}/issues/{issue['key']}/")
    expect(page.get_by_test_id("link-count")).to_have_text("0")
    page.fill(
        "#conversation",
        f"https://app.intercom.com/a/inbox/sandbox1/inbox/shared/all/conversation/{conversation['id']}#part_id=comment-9",
    )
    page.click(".link-form button")
    expect(page.locator(".messages")).to_contain_text(f"Conversation {conversation['id']} is now linked")
    card = page.locator(f".conversation-card[data-conversation='{conversation['id']}']")
    expect(card).to_contain_text("not fetched yet")  # the page never waits for Intercom
    tasks.snapshots_refresh()  # what the background refresh does for a new link
    page.reload()
    expect(card).to_contain_text("updated just now")
    expect(card).to_contain_text("Grace Hopper")
    expect(card).to_contain_text("Card declined twice")  # the subject as plain text, its markup dropped
    expect(card.locator("a.open-intercom")).to_have_attribute(
        "href", f"https://app.intercom.com/a/inbox/sandbox1/inbox/conversation/{conversation['id']}"
    )

    page.fill("#conversation", "https://app.intercom.com/a/inbox/someoneelse/inbox/conversation/3")
    page.click(".link-form button")
    expect(page.locator(".messages")).to_contain_text("someoneelse")
    expect(page.get_by_test_id("link-count")).to_have_text("1")

    card.locator("button.unlink").click()
    expect(page.locator(".messages")).to_contain_text("no longer linked")
    expect(page.get_by_test_id("link-count")).to_have_text("0")
    assert not ConversationLink.objects.exists()


def test_a_deleted_conversation_is_flagged_and_can_be_unlinked(setup, log_in, live_server):
    jira, _intercom, site, workspace = setup
    issue = jira.create_issue("SUP", "Ghost conversation")
    _link(site, workspace, issue, "31337")
    page = log_in(factories.UserFactory(role="Admin"))
    page.goto(f"{live_server.url}/issues/{issue['key']}/")
    card = page.locator(".conversation-card[data-conversation='31337']")
    expect(card).to_contain_text("Deleted in Intercom")
    card.locator("button.unlink").click()
    expect(page.get_by_test_id("link-count")).to_have_text("0")


def test_a_refused_user_sees_why_in_the_browser(setup, log_in, live_server):
    jira, _intercom, _site, _workspace = setup
    issue = jira.create_issue("SUP", "Private")
    user = factories.UserFactory(role="Agent")
    page = log_in(user)
    page.goto(f"{live_server.url}/issues/{issue['key']}/")
    expect(page.get_by_test_id("refusal")).to_contain_text("not mapped to a Jira account")


def test_an_admin_chooses_and_orders_card_fields_and_the_issue_page_follows(setup, log_in, live_server):
    jira, intercom, site, workspace = setup
    issue = jira.create_issue("SUP", "Fields")
    contact = intercom.add_contact(name="Ada Lovelace", email="ada@example.com")
    contact["custom_attributes"]["plan"] = "Gold"
    conversation = intercom.add_conversation(subject="Hello", contact=contact)
    _link(site, workspace, issue, conversation["id"])
    page = log_in(factories.UserFactory(role="Admin"))

    page.goto(f"{live_server.url}/linking/workspaces/{workspace.pk}/fields/")
    expect(page.locator(".banner.note")).to_contain_text("not access control")
    contact_box = page.locator("fieldset[data-entity='contact']")
    contact_box.locator("input[value='name']").uncheck()
    contact_box.locator("input[value='custom_attributes.plan']").check()
    contact_box.locator("input[name='contact-order-custom_attributes.plan']").fill("1")
    contact_box.locator("input[name='contact-order-email']").fill("2")
    page.click("form.fields-editor button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Saved the fields")

    page.goto(f"{live_server.url}/issues/{issue['key']}/")
    contact_section = page.locator(".conversation-card section.entity", has_text="Contact")
    expect(contact_section.locator("dt")).to_have_text(["Plan", "Email", "Company"])
    expect(contact_section).to_contain_text("Gold")
    expect(contact_section).not_to_contain_text("Ada Lovelace")


def test_the_report_ranks_issues_filters_them_and_exports_csv(setup, log_in, live_server):
    jira, _intercom, site, workspace = setup
    busy, quiet = jira.create_issue("SUP", "Busy issue"), jira.create_issue("SUP", "Quiet issue")
    for n in range(3):
        _link(site, workspace, busy, f"70{n}")
    _link(site, workspace, quiet, "800")
    page = log_in(factories.UserFactory(role="Admin"))

    page.goto(f"{live_server.url}/reports/")
    expect(page.locator("table.report tbody tr")).to_have_count(2)
    expect(page.locator("table.report tbody tr").first).to_have_attribute("data-issue", busy["key"])
    expect(page.locator("svg.chart g.bar")).to_have_count(2)
    expect(page.locator(f"svg.chart g.bar[data-label='{busy['key']}']")).to_have_attribute("data-value", "3")

    page.fill("input[name=since]", "2000-01-01")
    page.fill("input[name=until]", "2000-12-31")
    page.click(".filters button[type=submit]")
    expect(page.locator("main")).to_contain_text("No linked conversations match")
    page.goto(f"{live_server.url}/reports/")

    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    csv_text = Path(download_info.value.path()).read_text()
    assert csv_text.splitlines()[1].startswith(f"{busy['key']},SUP,")

    page.locator("table.report td.links a").first.click()
    expect(page.locator("svg.chart circle")).to_have_count(3)

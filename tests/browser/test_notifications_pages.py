"""The rule editor (live preview, inline template problems), the dry run and the delivery log in a real browser."""

import json
import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deliveries.models import Delivery
from notifications.models import NotificationRule
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jira_webhooks"


def shot(page, name: str, tmp_path: Path) -> None:
    """Keep a screenshot: in SCREENSHOT_DIR when set (to look at the pages), else in the test's tmp dir."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def admin_page(log_in):
    return log_in(factories.UserFactory(role="Admin"))


@pytest.fixture
def sup_event(transactional_db):
    """SUP-7's last webhook (assigned, To Do → In Progress), its connected project and two linked conversations."""
    NotificationRule.objects.all().delete()
    payload = json.loads((FIXTURES / "issue_updated__assignee_and_status.json").read_text())
    project = factories.ProjectConnectionFactory(project_id="10010", project_key="SUP")
    event = factories.WebhookEventFactory(
        site=project.site, delivery_id="b-1", event_type="jira:issue_updated", issue_id="10042", issue_key="SUP-7",
        payload=payload, status="processed",
    )
    for cid in ("201", "202"):
        factories.ConversationLinkFactory(site=project.site, issue_id="10042", issue_key="SUP-7",
                                          workspace=project.workspace, conversation_id=cid, source="ui")
    return event, project


def test_editing_a_rule_previews_live_and_refuses_a_broken_template(admin_page, live_server, sup_event, tmp_path):
    page = admin_page
    rule = factories.NotificationRuleFactory(name="Work started", trigger="issue_transitioned",
                                             to_status="In Progress", actions=[{"type": "note"}])
    page.goto(f"{live_server.url}/rules/")
    page.get_by_role("link", name="Work started").click()
    template = page.locator("textarea[name=template]")
    template.fill("<p>{{ issue.key }} is now <b>{{ issue.status_to }}</b>")
    expect(page.get_by_test_id("preview")).to_contain_text("ABC-1 is now In Progress")
    page.fill("#preview-issue", "SUP-7")
    page.locator("#preview-issue").dispatch_event("change")
    expect(page.get_by_test_id("preview")).to_contain_text("SUP-7 is now In Progress")
    expect(page.locator("#preview-source")).to_contain_text("last webhook event of SUP-7")

    template.fill("<p>{{ issue.key }</p>")
    expect(page.locator("#template-problems li.blocking")).to_be_visible()
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".banner.error")).to_contain_text("not saved")
    assert NotificationRule.objects.get(pk=rule.pk).template == ""

    page.locator("textarea[name=template]").fill("<p>{{ issue.key }}: work has started.</p>")
    expect(page.locator("input[name=tag_id]")).to_be_hidden()  # options show with their action
    page.get_by_label("Add a tag").check()
    page.fill("input[name=tag_id]", "42")
    expect(page.get_by_test_id("preview")).to_contain_text("SUP-7: work has started.")
    shot(page, "rule-editor", tmp_path)
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".messages")).to_contain_text("Rule “Work started” saved.")
    rule.refresh_from_db()
    assert rule.template == "<p>{{ issue.key }}: work has started.</p>"
    assert rule.actions == [{"type": "note"}, {"type": "tag", "tag_id": "42"}]


def test_the_placeholder_list_inserts_into_the_template(admin_page, live_server, transactional_db):
    page = admin_page
    page.goto(f"{live_server.url}/rules/new/")
    page.locator("textarea[name=template]").fill("")
    page.locator("button.insert[data-insert='issue.summary']").click()
    expect(page.locator("textarea[name=template]")).to_have_value("{{ issue.summary }}")
    expect(page.get_by_test_id("preview")).to_contain_text("Checkout page shows a blank screen")


def test_the_dry_run_shows_what_would_fire_for_the_last_event(admin_page, live_server, sup_event, tmp_path):
    factories.NotificationRuleFactory(name="Work started", trigger="issue_transitioned", to_status="In Progress",
                                      actions=[{"type": "note"}], template="<p>{{ issue.key }} is in progress</p>")
    factories.NotificationRuleFactory(name="Resolved", trigger="issue_transitioned", to_status="category:done",
                                      actions=[{"type": "close"}])
    page = admin_page
    page.goto(f"{live_server.url}/rules/")
    shot(page, "rules", tmp_path)
    page.fill("#dry-run-key", "sup-7")
    page.get_by_role("button", name="Dry run").click()
    fired = page.get_by_test_id("fired-rule")
    expect(fired).to_have_count(1)
    expect(fired).to_contain_text("Work started")
    expect(fired.locator(".note-preview")).to_have_text("SUP-7 is in progress")
    expect(page.get_by_test_id("dry-run-links")).to_have_text("2")
    transition = page.locator("article", has_text="issue_transitioned")
    expect(transition.locator("details")).to_contain_text("Resolved")
    shot(page, "dry-run", tmp_path)
    assert Delivery.objects.count() == 0


def test_the_delivery_log_shows_fan_out_progress_and_resends_a_failed_row(admin_page, live_server, sup_event,
                                                                        tmp_path):
    event, project = sup_event
    # A worker may be running in this test session: with the workspace marked broken its pump leaves the rows be.
    type(project.workspace).objects.filter(pk=project.workspace_id).update(health="broken")
    rule = factories.NotificationRuleFactory(name="Work started", trigger="issue_transitioned",
                                             actions=[{"type": "note"}])
    now = timezone.now()
    for n, status in enumerate(["sent"] * 7 + ["failed", "pending", "pending"]):
        factories.DeliveryFactory(
            idempotency_key=f"b:{n}", webhook_event=event, rule=rule, workspace=project.workspace, body="",
            conversation_id=str(300 + n), issue_id="10042", issue_key="SUP-7", action="note", status=status,
            next_attempt_at=now, sent_at=now if status == "sent" else None, attempts=1,
            last_error="The conversation no longer exists in Intercom." if status == "failed" else "",
        )
    page = admin_page
    page.goto(f"{live_server.url}/deliveries/?issue=SUP-7")
    fanout = page.get_by_test_id("fanout")
    expect(fanout).to_contain_text("7 / 10")
    expect(fanout).to_contain_text("running")
    shot(page, "deliveries", tmp_path)
    page.goto(f"{live_server.url}/deliveries/?status=failed&refresh=0")
    expect(page.get_by_test_id("delivery-row")).to_have_count(1)
    page.get_by_label("Choose delivery").check()
    page.get_by_role("button", name="Resend the chosen deliveries").click()
    expect(page.locator(".messages")).to_contain_text("1 delivery queued to be sent again")
    failed = Delivery.objects.get(idempotency_key="b:7")
    assert (failed.status, failed.attempts, failed.verify) == ("pending", 0, True)


def test_a_note_is_previewed_and_sent_from_the_issue_page_once(admin_page, live_server, transactional_db, tmp_path):
    from sandbox.intercom import IntercomSimulator
    from sandbox.jira import APP_USER_TOKEN, JiraSimulator

    with JiraSimulator(deployment="cloud") as jira, IntercomSimulator() as intercom:
        site = factories.JiraSiteFactory(base_url=jira.url, account_email=jira.app_user["emailAddress"],
                                         api_token=APP_USER_TOKEN, app_account_id=jira.app_user["accountId"])
        workspace = factories.IntercomWorkspaceFactory(api_base_url=intercom.url, access_token=intercom.default_token,
                                                       health="broken")  # no pump runs: the rows stay to be seen
        sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
        factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"], project_key="SUP")
        issue = jira.create_issue("SUP", "Checkout fails")
        for cid in intercom.add_conversations(2):
            factories.ConversationLinkFactory(site=site, issue_id=issue["id"], issue_key=issue["key"],
                                              workspace=workspace, conversation_id=cid, source="ui")
        page = admin_page
        page.goto(f"{live_server.url}/issues/{issue['key']}/")
        page.fill("#comment-body", "We found the cause.\nA fix ships *today*.")
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_test_id("comment-preview")).to_contain_text("A fix ships *today*.")
        page.get_by_label("Jira wiki markup").check()
        page.get_by_role("button", name="Preview again").click()
        expect(page.get_by_test_id("comment-preview").locator("b").last).to_have_text("today")
        expect(page.get_by_test_id("comment-preview")).to_contain_text(f"on {issue['key']}:")  # who and which issue
        shot(page, "comment-preview", tmp_path)
        assert Delivery.objects.count() == 0
        page.get_by_role("button", name="Send").click()
        expect(page.locator(".messages")).to_contain_text("on its way to 2 conversations")
        page.go_back()  # the preview page again, with the same form token
        page.get_by_role("button", name="Send").click()
        expect(page.locator(".messages")).to_contain_text("already sent")
        assert Delivery.objects.filter(source="comment", action="note").count() == 2

"""The dashboard and the issue explainer in a real browser (Chromium), with screenshots kept as artefacts."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from connector.models import Health
from tests import factories
from tests.browser.artifacts import shot
from tests.operations.sup import sup_fixture  # noqa: F401 (the `sup` fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(log_in):
    return log_in(factories.UserFactory(role="Admin"))


def test_a_fresh_install_shows_the_setup_steps_and_leads_to_the_first(admin_page, live_server):
    page = admin_page
    page.goto(f"{live_server.url}/")
    checklist = page.get_by_test_id("setup-checklist")
    expect(checklist.get_by_test_id("step-site")).to_have_attribute("data-state", "todo")
    expect(checklist.get_by_test_id("step-workspace")).to_contain_text("No workspace is connected.")
    expect(page.get_by_test_id("health")).to_contain_text("No connection yet.")
    shot(page, "dashboard-fresh")
    checklist.get_by_role("link", name="Connect a Jira site with its app user's API token.").click()
    expect(page).to_have_url(f"{live_server.url}/connections/jira/new/")


def test_a_broken_install_names_each_problem_and_its_fix(admin_page, live_server, sup):
    sup.project.missing_permissions = ["ADD_COMMENTS", "EDIT_ISSUES", "TRANSITION_ISSUES", "CREATE_ATTACHMENTS"]
    sup.project.permissions_checked_at = timezone.now()
    sup.project.save()
    sup.workspace.health = Health.BROKEN
    sup.workspace.health_error = "Intercom refused the app user's credentials (401). Enter a new access token."
    sup.workspace.save()
    page = admin_page
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("alert")).to_contain_text("Support is broken")
    permissions = page.get_by_test_id("step-permissions")
    expect(permissions).to_have_attribute("data-state", "problem")
    expect(permissions).to_contain_text("lacks 4 of 6 permissions")
    expect(page.get_by_test_id("step-workspace")).to_have_attribute("data-state", "problem")
    rows = page.get_by_test_id("health-row")
    expect(rows.filter(has_text="Acme Jira")).to_contain_text("Working, with problems")
    expect(rows.filter(has_text="Support")).to_contain_text("Broken")
    shot(page, "dashboard-broken")
    permissions.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/connections/jira/{sup.site.pk}/")


def explain(page, live_server, key):
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Explain an issue").first.click()
    page.get_by_label("Issue key").fill(key)
    page.get_by_role("button", name="Explain").click()


def test_the_explainer_shows_a_matched_rule_and_the_notes_it_sent(admin_page, live_server, sup):
    sup.rule(name="Work started", to_status="In Progress")
    sup.transition()
    sup.send()
    explain(admin_page, live_server, "sup-7")
    verdict = admin_page.get_by_test_id("verdict").filter(has_text="Work started")
    expect(verdict).to_have_attribute("data-matched", "yes")
    expect(verdict.locator("[data-testid=delivery][data-status=sent]")).to_have_count(2)
    shot(admin_page, "explain-matched")


def test_the_explainer_says_why_a_rule_did_not_match(admin_page, live_server, sup):
    sup.rule(name="Resolved", to_status="Done")
    sup.transition()
    explain(admin_page, live_server, "SUP-7")
    verdict = admin_page.get_by_test_id("verdict").filter(has_text="Resolved")
    expect(verdict).to_have_attribute("data-matched", "no")
    expect(verdict).to_contain_text("To status must be “Done”; it became In Progress.")
    shot(admin_page, "explain-unmatched")


def test_the_explainer_says_why_notes_are_held(admin_page, live_server, sup):
    sup.rule(name="Work started", to_status="In Progress")
    sup.transition()
    sup.revoke_intercom()
    sup.send()
    explain(admin_page, live_server, "SUP-7")
    held = admin_page.locator("[data-testid=delivery][data-status=held]")
    expect(held.first).to_contain_text("held: Intercom refused the app user's credentials")
    expect(admin_page.get_by_test_id("explain-summary")).to_contain_text("held")
    shot(admin_page, "explain-held")

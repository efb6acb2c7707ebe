"""The connection pages in a real browser: connect Jira and Intercom, pick the author, connect a project.

Screenshots go to $SCREENSHOT_DIR (default: pytest's tmp dir) so a person can look at the pages.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests.factories import JiraSiteFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_admin_connects_everything_in_the_browser(page, live_server, shots, transactional_db):
    user = UserFactory(role="Admin", username="ada")
    user.set_password("correct horse battery")
    user.save()
    with JiraSimulator(deployment="cloud") as jira, IntercomSimulator(app_name="Acme Support") as intercom:
        jira.set_permissions(jira.app_user["accountId"], "SUP", {"BROWSE_PROJECTS", "ADD_COMMENTS", "EDIT_ISSUES"})
        grace = intercom.add_admin("Grace Agent", "grace@example.com")

        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", "correct horse battery")
        page.click("main button[type=submit]")
        page.goto(f"{live_server.url}/connections/")
        page.screenshot(path=shots / "01-connections-empty.png", full_page=True)

        page.click("text=Connect a Jira site")
        page.fill("input[name=name]", "Acme Jira")
        page.fill("input[name=base_url]", jira.url)
        page.check("input[name=deployment][value=cloud]")
        page.fill("input[name=account_email]", jira.app_user["emailAddress"])
        page.fill("input[name=api_token]", "wrong-token")
        page.click("form.stacked button[type=submit]")
        expect(page.locator("text=Jira refused these credentials (401)")).to_be_visible()
        page.screenshot(path=shots / "02-jira-wrong-token.png", full_page=True)
        page.fill("input[name=api_token]", APP_USER_TOKEN)
        page.click("form.stacked button[type=submit]")
        expect(page.locator(".app-user")).to_contain_text("Intercom Connector")
        page.screenshot(path=shots / "03-jira-site.png", full_page=True)

        page.goto(f"{live_server.url}/connections/intercom/new/")
        page.select_option("select[name=region]", "eu")
        page.fill("input[name=access_token]", intercom.default_token)
        page.fill("input[name=client_secret]", "client-secret-xyz")
        page.fill("input[name=api_base_url]", intercom.url)
        page.click("form.stacked button[type=submit]")
        page.select_option("select[name=admin_id]", grace["id"])
        page.click("form.inline-form button[type=submit]")
        expect(page.locator("text=Notes are now written as Grace Agent")).to_be_visible()
        page.screenshot(path=shots / "04-intercom-workspace.png", full_page=True)

        page.goto(f"{live_server.url}/connections/")
        page.click("text=Connect a project of Acme Jira")
        page.select_option("select[name=project_id]", label="SUP — Support")
        page.click("form.stacked button[type=submit]")
        expect(page.locator("table.checklist")).to_be_visible()
        expect(page.locator("table.checklist .no")).to_have_count(3)  # create issues, transition, attachments
        page.screenshot(path=shots / "05-jira-site-with-checklist.png", full_page=True)

        page.goto(f"{live_server.url}/connections/")
        page.screenshot(path=shots / "06-connections.png", full_page=True)
        html = page.content()
        for secret in (APP_USER_TOKEN, intercom.default_token, "client-secret-xyz"):
            assert secret not in html


def test_revoke_asks_first_and_the_page_breaks_no_content_security_rule(log_in, live_server, transactional_db):
    site = JiraSiteFactory(name="Acme Jira")
    page = log_in(UserFactory(role="Admin"))
    violations, dialogs = [], []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/connections/jira/{site.pk}/")
    page.click("button.danger:has-text('Revoke')")
    page.wait_for_load_state()
    assert dialogs and "Delete the stored Jira credentials?" in dialogs[0]
    site.refresh_from_db()
    assert site.api_token  # dismissed: nothing revoked
    assert violations == []

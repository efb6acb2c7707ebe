"""The admin pages: the Inbox app's URLs, setup steps and app information per workspace, and the
create-issue form per project (fields from Jira's createmeta, who may create)."""

from inbox.models import CreateIssueForm
from notifications.models import NotificationRule
from sandbox.jira_create import SEVERITY_FIELD
from tests import factories


def test_the_app_page_gives_the_urls_to_paste_and_the_app_information(inbox, admin_client):
    page = admin_client.get("/inbox-app/").content.decode()

    assert f"http://testserver/inbox/{inbox.workspace.public_id}/initialize" in page
    assert f"http://testserver/inbox/{inbox.workspace.public_id}/submit" in page
    assert "Conversation details" in page
    assert inbox.jira.url in page and "Intercom Connector" in page  # connected site, app user
    assert inbox.workspace.name in page and "Canvas Kit 2.11" in page
    assert "inbox-client-secret" not in page  # the secret is never shown back


def test_the_app_page_says_when_no_client_secret_is_stored(inbox, admin_client):
    inbox.workspace.client_secret = ""
    inbox.workspace.save()
    page = admin_client.get("/inbox-app/").content.decode()

    assert "No client secret is stored: every request will be refused." in page


def test_people_without_manage_connections_are_refused(inbox, client):
    client.force_login(factories.UserFactory(role="Agent"))

    assert client.get("/inbox-app/").status_code == 403
    assert client.get(f"/inbox-app/projects/{inbox.project.pk}/").status_code == 403


def test_the_form_editor_saves_fields_defaults_and_teammates(inbox, admin_client):
    page = admin_client.get(f"/inbox-app/projects/{inbox.project.pk}/?issue_type=10002").content.decode()
    assert "Severity" in page and "Tess Teammate" in page

    response = admin_client.post(f"/inbox-app/projects/{inbox.project.pk}/", {
        "issue_type": "10002", "ask_priority": "on", "default_priority": "2", "required_labels": "on",
        "allowed_admin": [inbox.teammate["id"]], "allowed_teams": "77, 78",
    })

    assert response.status_code == 302
    form = CreateIssueForm.objects.get(project=inbox.project)
    assert (form.issue_type_id, form.issue_type_name) == ("10002", "Bug")
    by_id = {f["id"]: f for f in form.fields}
    assert set(by_id) == {"priority", "labels", SEVERITY_FIELD}  # Severity: Jira requires it for a Bug
    assert (by_id["priority"]["default"], by_id["labels"]["required"], by_id[SEVERITY_FIELD]["required"]) == (
        "2", True, True)
    assert (form.allowed_admin_ids, form.allowed_team_ids) == ([inbox.teammate["id"]], ["77", "78"])


def test_the_form_editor_names_the_cause_when_jira_refuses(inbox, admin_client):
    inbox.jira.set_permissions(inbox.jira.app_user["accountId"], "SUP", set())

    page = admin_client.get(f"/inbox-app/projects/{inbox.project.pk}/").content.decode()

    assert "Jira did not list the issue types of SUP" in page and "can browse the project" in page


def test_the_app_page_says_whether_linking_posts_a_note(inbox, admin_client):
    NotificationRule.objects.all().delete()
    before = admin_client.get("/inbox-app/").content.decode()
    NotificationRule.objects.create(name="Linked", trigger="conversation_linked", project=inbox.project,
                                    actions=[{"type": "note"}])

    after = admin_client.get("/inbox-app/").content.decode()

    assert "No note when an issue is linked" in before
    assert "conversation linked" in after and "No note when an issue is linked" not in after

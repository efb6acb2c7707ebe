"""Lists follow the issue page's access rule: "Recently linked" and the reports show only issues the viewer's
own Jira account may browse (admins see all, as on the issue page)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_issues(connected):
    """SUP-n (the viewer may browse it) and OPS-n (they may not), each with a linked conversation and a snapshot."""
    connected.jira.add_project("OPS", "Operations")
    open_issue = connected.issue("Checkout fails")
    secret = connected.jira.create_issue("OPS", "Secret outage at Acme")
    for issue, project_key in ((open_issue, "SUP"), (secret, "OPS")):
        factories.ConversationLinkFactory(site=connected.site, workspace=connected.workspace, issue_id=issue["id"],
                                          issue_key=issue["key"], project_key=project_key, conversation_id="7")
        factories.IssueSnapshotFactory(site=connected.site, issue_id=issue["id"], issue_key=issue["key"],
                                       project_key=project_key, summary=issue["fields"]["summary"])
    return open_issue, secret


def _listed(issue, page: str) -> bool:
    return f">{issue['key']}</a>" in page


def viewer(connected, *codes):
    """A user mapped to their own Jira account, who may not browse project OPS."""
    user = factories.UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts", codename__in=codes))
    jira_user = connected.jira.add_user("Vic Viewer", "vic@example.com")
    factories.ProfileFactory(user=user, jira_account_id=jira_user["accountId"])
    connected.jira.set_permissions(jira_user["accountId"], "OPS", set())
    return user


def test_recently_linked_shows_only_issues_the_viewers_jira_account_may_browse(client, connected, two_issues):
    open_issue, secret = two_issues
    client.force_login(viewer(connected, "view_links"))
    page = client.get("/issues/").content.decode()
    assert _listed(open_issue, page) and not _listed(secret, page)


def test_recently_linked_tells_an_unmapped_user_why_it_is_empty(client, connected, two_issues):
    user = factories.UserFactory(role="Viewer")
    client.force_login(user)
    page = client.get("/issues/").content.decode()
    assert _listed(two_issues[0], page) is _listed(two_issues[1], page) is False
    assert "not mapped to a Jira account" in page


def test_recently_linked_fails_closed_when_jira_cannot_answer(client, connected, two_issues):
    client.force_login(viewer(connected, "view_links"))
    connected.jira.stop()
    response = client.get("/issues/")
    page = response.content.decode()
    assert response.status_code == 200
    assert not _listed(two_issues[0], page) and "Jira could not confirm" in page


def test_admins_see_every_recently_linked_issue(admin_client, two_issues):
    page = admin_client.get("/issues/").content.decode()
    assert all(_listed(issue, page) for issue in two_issues)


def test_the_report_shows_only_issues_the_viewer_may_browse(client, connected, two_issues):
    open_issue, secret = two_issues
    client.force_login(viewer(connected, "export_data"))
    page = client.get("/reports/").content.decode()
    assert _listed(open_issue, page) and "Checkout fails" in page
    assert not _listed(secret, page) and "Secret outage" not in page


def test_the_csv_export_shows_only_issues_the_viewer_may_browse(client, connected, two_issues):
    client.force_login(viewer(connected, "export_data"))
    response = client.get("/reports/links.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[0] for row in rows[1:]] == [two_issues[0]["key"]]
    assert "Secret outage" not in response.content.decode()


def test_an_issues_history_report_is_refused_where_the_issue_page_would_be(client, connected, two_issues):
    open_issue, secret = two_issues
    client.force_login(viewer(connected, "export_data"))
    assert client.get(f"/reports/issues/{open_issue['key']}/").status_code == 200
    response = client.get(f"/reports/issues/{secret['key']}/")
    assert response.status_code == 403
    assert f"Your Jira account may not browse {secret['key']}" in response.content.decode()


def test_admins_see_every_issue_in_the_reports(admin_client, two_issues):
    page = admin_client.get("/reports/").content.decode()
    assert all(_listed(issue, page) for issue in two_issues)

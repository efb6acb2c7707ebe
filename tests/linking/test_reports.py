"""Reports: issues ranked by linked conversations with filters, CSV export, link count over time."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from linking import services
from linking.models import ConversationLink, IssueSnapshot, LinkChange
from linking.selectors import ReportFilters, link_count_history, report_ranked_issues
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return factories.JiraSiteFactory()


@pytest.fixture
def workspace():
    return factories.IntercomWorkspaceFactory()


def _make(site, workspace, key, count, *, status="To Do", summary="", days_ago=0):
    issue_id = str(20000 + int(key.split("-")[1]) + (1000 if key.startswith("OPS") else 0))
    project_key = key.split("-")[0]
    for n in range(count):
        factories.ConversationLinkFactory(site=site, workspace=workspace, issue_id=issue_id, issue_key=key,
                                          project_key=project_key, conversation_id=f"{issue_id}{n}", source="api")
        factories.LinkChangeFactory(site=site, issue_id=issue_id, conversation_id=f"{issue_id}{n}")
    factories.IssueSnapshotFactory(site=site, issue_id=issue_id, issue_key=key, project_key=project_key,
                                   summary=summary or key, status_name=status)
    when = timezone.now() - timedelta(days=days_ago)
    ConversationLink.objects.filter(issue_id=issue_id).update(created_at=when)
    return issue_id


@pytest.fixture
def demand(site, workspace):
    _make(site, workspace, "SUP-1", 2, status="To Do", days_ago=1)
    _make(site, workspace, "SUP-2", 5, status="Done", days_ago=30)
    _make(site, workspace, "OPS-3", 3, status="To Do", days_ago=2)
    _make(site, workspace, "SUP-4", 1, status="In Progress", days_ago=0)


def _ranked(**filters):
    admin = factories.UserFactory(role="Admin")  # sees every issue; who sees what is test_list_access.py's
    return [(r.issue_key, r.links) for r in report_ranked_issues(ReportFilters(**filters), viewer=admin)]


def test_issues_are_ranked_by_how_many_conversations_are_linked(demand):
    assert _ranked() == [("SUP-2", 5), ("OPS-3", 3), ("SUP-1", 2), ("SUP-4", 1)]


def test_the_project_status_and_date_filters_narrow_the_ranking(demand):
    today = timezone.localdate()
    assert _ranked(project="SUP") == [("SUP-2", 5), ("SUP-1", 2), ("SUP-4", 1)]
    assert _ranked(status="To Do") == [("OPS-3", 3), ("SUP-1", 2)]
    assert _ranked(since=today - timedelta(days=7)) == [("OPS-3", 3), ("SUP-1", 2), ("SUP-4", 1)]
    assert _ranked(until=today - timedelta(days=7)) == [("SUP-2", 5)]
    assert _ranked(project="SUP", status="To Do", since=today - timedelta(days=7)) == [("SUP-1", 2)]


def test_the_report_page_shows_the_chart_and_table_in_rank_order(demand, admin_client):
    page = admin_client.get("/reports/", {"project": "SUP"}).content.decode()
    assert page.index('data-issue="SUP-2"') < page.index('data-issue="SUP-1"') < page.index('data-issue="SUP-4"')
    assert 'data-issue="OPS-3"' not in page
    assert '<g class="bar" data-label="SUP-2" data-value="5">' in page


def test_the_csv_export_has_the_same_numbers_and_defuses_formulas(site, workspace, demand, admin_client):
    _make(site, workspace, "SUP-9", 1, summary='=HYPERLINK("http://evil")')
    response = admin_client.get("/reports/links.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["issue", "project", "summary", "status", "linked conversations"]
    assert [(r[0], int(r[4])) for r in rows[1:]] == [
        ("SUP-2", 5),
        ("OPS-3", 3),
        ("SUP-1", 2),
        ("SUP-4", 1),
        ("SUP-9", 1),
    ]
    assert next(r for r in rows if r[0] == "SUP-9")[2].startswith("'=")


def test_reports_need_the_export_permission(demand, client):
    client.force_login(factories.UserFactory(role="Agent"))
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/links.csv").status_code == 403


def test_the_link_count_over_time_follows_links_and_unlinks(site, workspace, admin_client):
    issue_id = _make(site, workspace, "SUP-7", 3)
    with transaction.atomic():
        services.link_delete(link=ConversationLink.objects.filter(issue_id=issue_id).first())
    base = datetime(2026, 1, 1, tzinfo=timezone.get_current_timezone())
    for n, change in enumerate(LinkChange.objects.filter(issue_id=issue_id).order_by("id")):
        LinkChange.objects.filter(pk=change.pk).update(at=base + timedelta(days=n))
    assert [count for _, count in link_count_history(site.pk, issue_id)] == [1, 2, 3, 2]
    page = admin_client.get("/reports/issues/SUP-7/").content.decode()
    assert page.count("<circle cx=") == 4
    assert 'data-count="3"' in page


def test_status_comes_from_the_issue_snapshot_kept_by_jira_events(site, workspace):
    _make(site, workspace, "SUP-5", 1, status="To Do")
    IssueSnapshot.objects.filter(issue_key="SUP-5").update(status_name="Done")
    assert _ranked(status="Done") == [("SUP-5", 1)]

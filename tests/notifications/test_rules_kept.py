"""Issue 11 item 10: disconnecting a project keeps its rules, out of action, and reconnecting brings them back."""

from django.urls import reverse

from connector.connections.services import project_connection_save
from notifications.models import NotificationRule
from notifications.planning import rules_for
from tests.factories import NotificationRuleFactory, ProjectConnectionFactory

PROJECTS = "/api/connections/project-connections/"


def test_disconnecting_a_project_on_its_page_keeps_its_rules_detached(admin_client, db):
    project = ProjectConnectionFactory(project_id="10000", project_key="SUP")
    rule = NotificationRuleFactory(project=project, name="Tell SUP customers")
    page = admin_client.post(
        reverse("project_connection_delete", args=[project.site_id, project.pk]), follow=True
    ).content.decode()
    assert "rules are kept" in page
    rule.refresh_from_db()
    assert rule.project is None and rule.detached_project_key == "SUP"
    assert rule not in rules_for(None), "a kept rule must not start acting for every project"
    rules_page = admin_client.get(reverse("rules")).content.decode()
    assert "Tell SUP customers" in rules_page and "Disconnected project SUP" in rules_page


def test_reconnecting_the_project_brings_its_rules_back(db):
    project = ProjectConnectionFactory(project_id="10000", project_key="SUP")
    rule = NotificationRuleFactory(project=project)
    site, workspace = project.site, project.workspace
    project.delete()
    again = project_connection_save(
        site=site, workspace=workspace, project_id="10000", project_key="SUP", project_name="Support"
    )
    rule.refresh_from_db()
    assert rule.project == again and rule.detached_project_id == ""
    assert rule in rules_for(again)


def test_disconnecting_through_the_api_keeps_the_rules(admin_client, db):
    project = ProjectConnectionFactory()
    NotificationRuleFactory.create_batch(2, project=project)
    response = admin_client.delete(f"{PROJECTS}{project.pk}/", content_type="application/json")
    assert response.status_code == 204
    assert NotificationRule.objects.filter(detached_project_key=project.project_key).count() == 2

"""Configuration as code, whole: rules, visible fields, count-field settings, roles and alert settings travel with
the connections; secrets never do; a round trip gives back the same configuration."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEntry, Role
from accounts.services import role_save
from connector.models import IntercomWorkspace, JiraSite
from linking.models import SiteSearchSettings, VisibleFields
from notifications.models import NotificationRule
from operations.alerts import alert_settings
from operations.config_io import config_export
from tests import factories

pytestmark = pytest.mark.django_db
SECRETS = ("jira-token-123", "ic-token-456", "ic-secret-789", "hooks.example.com/T1/B2/xyz", "webhook-secret")


@pytest.fixture
def configured(admin_user):
    NotificationRule.objects.all().delete()
    site = factories.JiraSiteFactory(base_url="https://acme.atlassian.net", api_token="jira-token-123",
                                     webhook_secret="webhook-secret")
    workspace = factories.IntercomWorkspaceFactory(workspace_id="abc123", access_token="ic-token-456",
                                                   client_secret="ic-secret-789")
    project = factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id="10000",
                                                 project_key="SUP")
    factories.NotificationRuleFactory(name="Work started", project=project, to_status="In Progress",
                                      template="<p>{{ issue.key }} started</p>", position=3, stop_after=True)
    factories.NotificationRuleFactory(name="Comments", trigger="comment_created", comment_visibility=["public"],
                                      actions=[{"type": "note"}, {"type": "tag", "tag_id": "7"}], enabled=False)
    VisibleFields.objects.create(workspace=workspace, entity="contact", fields=["name", "custom_attributes.plan"])
    SiteSearchSettings.objects.create(site=site, count_field_id="customfield_10050",
                                      count_field_name="Intercom conversations")
    role_save(actor=admin_user, name="Support lead", codes=["view_links", "comment_note", "resend"])
    config = alert_settings()
    config.emails, config.silence_hours = "ops@example.com", 12
    config.webhook_url = "https://hooks.example.com/T1/B2/xyz"
    config.save()


def snapshot() -> dict:
    rules = sorted(NotificationRule.objects.values_list(
        "name", "project__project_key", "position", "enabled", "stop_after", "trigger", "to_status",
        "comment_visibility", "actions", "template"))
    return {
        "rules": [tuple(json.dumps(v) if isinstance(v, list) else v for v in r) for r in rules],
        "fields": sorted(VisibleFields.objects.values_list("workspace__workspace_id", "entity", "fields")),
        "search": list(SiteSearchSettings.objects.values_list("site__base_url", "count_field_id", "count_field_name")),
        "role": sorted(Role.objects.get(name="Support lead").permissions.values_list("codename", flat=True)),
        "alerts": (alert_settings().emails, alert_settings().silence_hours),
    }


def test_the_export_carries_everything_but_secrets(configured):
    text = json.dumps(config_export())
    data = json.loads(text)
    assert {"rules", "visible_fields", "search_settings", "roles", "alerts"} <= set(data)
    assert not [s for s in SECRETS if s in text]
    assert "webhook_url" not in data["alerts"]


def test_a_round_trip_through_an_empty_database_gives_the_same_configuration(configured, tmp_path):
    before = snapshot()
    path = tmp_path / "config.yaml"
    call_command("export_config", "--output", str(path))
    NotificationRule.objects.all().delete()
    VisibleFields.objects.all().delete()
    SiteSearchSettings.objects.all().delete()
    Role.objects.filter(name="Support lead").delete()
    JiraSite.objects.all().delete()  # takes the project connection with it
    IntercomWorkspace.objects.all().delete()
    alert_settings().delete()
    call_command("import_config", str(path))
    assert snapshot()["rules"] == before["rules"] and snapshot() == {**before, "alerts": before["alerts"]}
    site = JiraSite.objects.get()
    assert site.api_token == "" and site.health == "broken"  # credentials are entered again, by hand
    assert alert_settings().webhook_url == ""


def test_importing_twice_changes_nothing(configured, tmp_path, capsys):
    path = tmp_path / "config.json"
    call_command("export_config", "--format", "json", "--output", str(path))
    call_command("import_config", str(path))
    assert capsys.readouterr().out.strip() == "Created 0, updated 0."
    assert alert_settings().webhook_url == "https://hooks.example.com/T1/B2/xyz"  # an import keeps secrets


def test_the_api_exports_and_imports_and_records_the_import(admin_client, configured):
    exported = admin_client.get(reverse("api_config")).json()
    exported["rules"][0]["enabled"] = not exported["rules"][0]["enabled"]
    response = admin_client.post(reverse("api_config"), exported, content_type="application/json")
    assert response.status_code == 200 and response.json()["updated"] == 1
    assert AuditEntry.objects.filter(action="config.import").exists()


@pytest.mark.parametrize("body", [
    [], {"version": 9}, {"version": 1, "rules": [{"name": "x", "trigger": "nope"}]},
    {"version": 1, "rules": [{"name": "x", "trigger": "issue_created", "project": {"site": "x", "project_id": 1}}]},
    {"version": 1, "roles": [{"name": "R", "permissions": ["fly"]}]},
    {"version": 1, "alerts": {"silence_hours": -1}},
    {"version": 1, "visible_fields": [{"workspace": "nope", "entity": "contact", "fields": []}]},
])
def test_a_bad_file_is_a_clear_400_and_changes_nothing(admin_client, body):
    before = NotificationRule.objects.count()
    response = admin_client.post(reverse("api_config"), body, content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"]
    assert NotificationRule.objects.count() == before


def test_exporting_needs_the_connections_permission(client):
    client.force_login(factories.UserFactory(role="Agent"))
    assert client.get(reverse("api_config")).status_code == 403


def test_rule_and_connection_changes_are_in_the_audit_log(admin_client, configured):
    rule = NotificationRule.objects.get(name="Work started")
    admin_client.post(reverse("rule_change", args=[rule.pk, "disable"]))
    site = JiraSite.objects.get()
    admin_client.post(reverse("jira_webhook_secret", args=[site.pk]), {"rotate": "1"})
    admin_client.post(reverse("rule_create"), {
        "name": "Done note", "trigger": "issue_transitioned", "enabled": "on", "to_status": "Done",
        "act_note": "on", "coalesce_seconds": "0", "comment_visibility": ["public"]})
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"rule.disable", "jira_site.webhook_secret", "rule.create"} <= actions
    created = AuditEntry.objects.get(action="rule.create")
    assert created.after["to_status"] == "Done" and created.target == "Done note"
    assert "webhook-secret" not in str(list(AuditEntry.objects.values_list("after", flat=True)))

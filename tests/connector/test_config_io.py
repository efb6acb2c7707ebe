"""Configuration as code: export without secrets, import into an empty database, round trip, idempotence."""

import json
import logging

import pytest
import yaml
from django.core.management import CommandError, call_command

from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection
from tests.factories import IntercomWorkspaceFactory, JiraSiteFactory, ProjectConnectionFactory


@pytest.fixture
def configured(db):
    site = JiraSiteFactory(base_url="https://acme.atlassian.net", api_token="jira-token-123")
    dc = JiraSiteFactory(base_url="https://jira.acme.example", deployment="datacenter", account_email="")
    workspace = IntercomWorkspaceFactory(
        workspace_id="abc123", region="eu", access_token="ic-token-456", client_secret="ic-secret-789"
    )
    ProjectConnectionFactory(
        site=site,
        workspace=workspace,
        project_id="10000",
        project_key="SUP",
        project_name="Support",
        customer_replies_allowed=True,
    )
    ProjectConnectionFactory(site=dc, workspace=workspace, project_id="20000", project_key="OPS", auto_link_urls=False)
    return site


def export(tmp_path, fmt):
    path = tmp_path / f"config.{fmt}"
    call_command("export_config", "--format", fmt, "--output", str(path))
    return path


def snapshot():
    return {
        "sites": sorted(JiraSite.objects.values_list("name", "base_url", "deployment", "account_email")),
        "workspaces": sorted(IntercomWorkspace.objects.values_list("name", "workspace_id", "region", "app_admin_id")),
        "projects": sorted(
            ProjectConnection.objects.values_list(
                "site__base_url",
                "workspace__workspace_id",
                "project_id",
                "project_key",
                "linking_enabled",
                "auto_link_urls",
                "comment_from_jira",
                "customer_replies_allowed",
                "conversation_view",
            )
        ),
    }


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_the_export_holds_no_secret(configured, tmp_path, fmt, caplog):
    caplog.set_level(logging.DEBUG)
    text = export(tmp_path, fmt).read_text()
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert [s["base_url"] for s in data["jira_sites"]] == ["https://acme.atlassian.net", "https://jira.acme.example"]
    for secret in ("jira-token-123", "ic-token-456", "ic-secret-789", configured.webhook_secret):
        assert secret not in text and secret not in caplog.text


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_round_trip_into_an_empty_database_recreates_the_configuration(configured, tmp_path, fmt):
    before = snapshot()
    path = export(tmp_path, fmt)
    ProjectConnection.objects.all().delete()
    JiraSite.objects.all().delete()
    IntercomWorkspace.objects.all().delete()
    call_command("import_config", str(path))
    assert snapshot() == before
    site = JiraSite.objects.get(base_url="https://acme.atlassian.net")
    assert site.api_token == "" and site.health == Health.BROKEN and "enter them" in site.health_error


def test_importing_twice_changes_nothing_and_keeps_stored_secrets(configured, tmp_path, capsys):
    path = export(tmp_path, "yaml")
    call_command("import_config", str(path))
    assert "Created 0, updated 0." in capsys.readouterr().out
    configured.refresh_from_db()
    assert (configured.api_token, configured.health) == ("jira-token-123", Health.OK)


def test_import_applies_edited_toggles(configured, tmp_path):
    path = export(tmp_path, "yaml")
    data = yaml.safe_load(path.read_text())
    data["project_connections"][0]["linking_enabled"] = False
    path.write_text(yaml.safe_dump(data))
    call_command("import_config", str(path))
    assert (
        ProjectConnection.objects.get(project_key=data["project_connections"][0]["project_key"]).linking_enabled
        is False
    )


def test_import_refuses_unsafe_urls_and_unknown_references(db, tmp_path, settings):
    settings.ALLOW_PRIVATE_URLS = False
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"version": 1, "jira_sites": [{"base_url": "https://169.254.169.254"}]}))
    with pytest.raises(CommandError, match="link-local"):
        call_command("import_config", str(bad))
    bad.write_text(
        yaml.safe_dump({"version": 1, "project_connections": [{"site": "https://x.example", "project_id": 1}]})
    )
    with pytest.raises(CommandError, match="not defined"):
        call_command("import_config", str(bad))
    assert not JiraSite.objects.exists()

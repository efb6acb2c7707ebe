"""Issue 11, trust in connections: a secret stays with its destination, a site's identity is pinned, and
deleting a connection never takes what depends on it without a word."""

import json

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse

from connector.connections.health import connection_check
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection
from linking.models import ConversationLink
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests.factories import (
    ConversationLinkFactory,
    IntercomWorkspaceFactory,
    JiraSiteFactory,
    ProjectConnectionFactory,
    WebhookEventFactory,
)

SITES = "/api/connections/jira-sites/"
WORKSPACES = "/api/connections/intercom-workspaces/"


def site_form(sim, *, base_url=None, token=APP_USER_TOKEN):
    return {
        "name": "Our Jira",
        "base_url": base_url or sim.url,
        "deployment": sim.deployment,
        "account_email": sim.app_user["emailAddress"] if sim.cloud else "",
        "api_token": token,
    }


def connect(client, sim) -> JiraSite:
    response = client.post(reverse("jira_site_create"), site_form(sim))
    assert response.status_code == 302, response.content.decode()
    return JiraSite.objects.get()


def edit(client, site, sim, **overrides):
    return client.post(reverse("jira_site_edit", args=[site.pk]), site_form(sim, **overrides), follow=True)


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


def as_localhost(url: str) -> str:
    """The same simulator under another name: a move of the same site to a new URL."""
    return url.replace("127.0.0.1", "localhost")


def calls(sim) -> int:
    return sum(sim.stats()["statuses"].values())


@pytest.fixture
def other_jira():
    """A second Jira Cloud that also knows the app user's token: someone else's site."""
    with JiraSimulator(deployment="cloud") as sim:
        yield sim


# --- item 1: a stored secret follows a changed URL -------------------------------------------------------------


def test_a_new_base_url_in_the_form_needs_the_token_again(admin_client, jira, other_jira):
    site = connect(admin_client, jira)
    page = edit(admin_client, site, other_jira, token="").content.decode()
    assert "enter the API token again" in page
    site.refresh_from_db()
    assert site.base_url == jira.url and site.api_token == APP_USER_TOKEN
    assert calls(other_jira) == 0, "the stored token must not travel to the new host"


def test_a_new_base_url_through_the_api_needs_the_token_again(admin_client, jira, other_jira):
    site = connect(admin_client, jira)
    response = patch(admin_client, f"{SITES}{site.pk}/", {"base_url": other_jira.url})
    assert response.status_code == 400
    assert "enter the API token again" in response.json()["api_token"][0]
    assert JiraSite.objects.get().base_url == jira.url
    assert calls(other_jira) == 0


def test_a_new_intercom_api_host_needs_the_access_token_again(admin_client, intercom):
    workspace = IntercomWorkspaceFactory(
        api_base_url=intercom.url,
        access_token=intercom.default_token,
        client_secret="secret",
        workspace_id=intercom.app["id_code"],
    )
    response = patch(admin_client, f"{WORKSPACES}{workspace.pk}/", {"api_base_url": as_localhost(intercom.url)})
    assert response.status_code == 400
    assert "enter the access token again" in response.json()["access_token"][0]
    workspace.refresh_from_db()
    assert workspace.api_base_url == intercom.url
    # Entered again, the move goes through.
    response = patch(
        admin_client,
        f"{WORKSPACES}{workspace.pk}/",
        {"api_base_url": as_localhost(intercom.url), "access_token": intercom.default_token},
    )
    assert response.status_code == 200, response.content


def test_a_new_intercom_region_needs_the_access_token_again(admin_client, db):
    workspace = IntercomWorkspaceFactory(region="us", api_base_url="")
    response = patch(admin_client, f"{WORKSPACES}{workspace.pk}/", {"region": "eu"})
    assert response.status_code == 400
    assert "enter the access token again" in response.json()["access_token"][0]
    assert IntercomWorkspace.objects.get().region == "us"


def test_an_imported_api_host_change_drops_the_stored_access_token(db, tmp_path):
    workspace = IntercomWorkspaceFactory(
        workspace_id="abc123", api_base_url="https://api.intercom.io", access_token="ic-token", client_secret="s"
    )
    path = tmp_path / "config.yaml"
    moved = {"name": workspace.name, "workspace_id": "abc123", "region": "us", "api_base_url": "https://evil.example"}
    path.write_text(yaml.safe_dump({"version": 1, "intercom_workspaces": [moved]}))
    call_command("import_config", str(path))
    workspace.refresh_from_db()
    assert workspace.api_base_url == "https://evil.example"
    assert workspace.access_token == "" and workspace.client_secret == "s"
    assert workspace.health == Health.BROKEN and "enter the access token again" in workspace.health_error


def test_import_validates_the_intercom_api_url_like_the_form(db, tmp_path, settings):
    settings.ALLOW_PRIVATE_URLS = False
    path = tmp_path / "config.yaml"
    bad = {"name": "W", "region": "us", "api_base_url": "https://169.254.169.254"}
    path.write_text(yaml.safe_dump({"version": 1, "intercom_workspaces": [bad]}))
    with pytest.raises(CommandError, match="link-local"):
        call_command("import_config", str(path))
    assert not IntercomWorkspace.objects.exists()


# --- item 2: a site's identity is pinned -----------------------------------------------------------------------


def test_the_cloud_id_is_pinned_when_the_site_is_first_verified(admin_client, jira):
    assert connect(admin_client, jira).jira_instance_id == jira.cloud_id


def test_pointing_a_site_at_another_jira_is_refused(admin_client, jira, other_jira):
    site = connect(admin_client, jira)
    page = edit(admin_client, site, other_jira).content.decode()
    assert "is another Jira site" in page
    site.refresh_from_db()
    assert site.base_url == jira.url and site.jira_instance_id == jira.cloud_id


def test_the_same_site_can_move_to_a_new_url(admin_client, jira):
    site = connect(admin_client, jira)
    edit(admin_client, site, jira, base_url=as_localhost(jira.url))
    site.refresh_from_db()
    assert site.base_url == as_localhost(jira.url) and site.health == Health.OK


def test_an_unpinned_site_is_pinned_from_its_old_url_before_it_moves(admin_client, jira, other_jira):
    site = JiraSiteFactory(
        base_url=jira.url, account_email=jira.app_user["emailAddress"], api_token=APP_USER_TOKEN, jira_instance_id=""
    )
    page = edit(admin_client, site, other_jira).content.decode()
    assert "is another Jira site" in page
    assert JiraSite.objects.get().base_url == jira.url


def test_the_periodic_check_pins_a_site_connected_before_pinning(jira, db):
    site = JiraSiteFactory(base_url=jira.url, account_email=jira.app_user["emailAddress"], api_token=APP_USER_TOKEN)
    assert connection_check(site)
    site.refresh_from_db()
    assert site.jira_instance_id == jira.cloud_id


def test_a_data_center_site_is_told_apart_by_its_server_title(admin_client):
    with (
        JiraSimulator(deployment="datacenter", server_title="Acme Jira") as ours,
        JiraSimulator(deployment="datacenter", server_title="Someone else's Jira") as theirs,
    ):
        site = connect(admin_client, ours)
        assert site.jira_instance_id == "Acme Jira"
        page = edit(admin_client, site, theirs).content.decode()
        assert "is another Jira site" in page
        assert JiraSite.objects.get().base_url == ours.url


# --- item 12: deleting a connection that others depend on ------------------------------------------------------


def test_deleting_a_workspace_with_projects_is_refused_with_what_depends_on_it(admin_client, db):
    project = ProjectConnectionFactory(project_key="SUP")
    response = admin_client.delete(f"{WORKSPACES}{project.workspace.pk}/")
    assert response.status_code == 409
    assert "SUP" in response.json()["detail"] and "Disconnect" in response.json()["detail"]
    assert IntercomWorkspace.objects.filter(pk=project.workspace.pk).exists()


def test_deleting_a_site_with_projects_is_refused(admin_client, db):
    project = ProjectConnectionFactory(project_key="SUP")
    ConversationLinkFactory(site=project.site, workspace=project.workspace)
    response = admin_client.delete(f"{SITES}{project.site.pk}/")
    assert response.status_code == 409 and "SUP" in response.json()["detail"]
    assert ProjectConnection.objects.exists() and ConversationLink.objects.exists()


def test_deleting_a_site_with_links_shows_the_counts_and_asks(admin_client, db):
    site = JiraSiteFactory()
    ConversationLinkFactory.create_batch(2, site=site)
    WebhookEventFactory(site=site)
    response = admin_client.delete(f"{SITES}{site.pk}/")
    assert response.status_code == 409
    body = response.json()
    assert body["depends"]["conversation links"] == 2 and body["depends"]["webhook events"] == 1
    assert "?confirm=true" in body["detail"]
    assert ConversationLink.objects.count() == 2
    assert admin_client.delete(f"{SITES}{site.pk}/?confirm=true").status_code == 204
    assert not JiraSite.objects.exists() and not ConversationLink.objects.exists()


def test_deleting_an_unused_workspace_needs_no_confirmation(admin_client, db):
    workspace = IntercomWorkspaceFactory()
    assert admin_client.delete(f"{WORKSPACES}{workspace.pk}/").status_code == 204

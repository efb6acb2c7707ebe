"""Connecting Intercom workspaces from the admin pages, against the Intercom simulator on PostgreSQL."""

import pytest
from django.urls import reverse

from connector.connections import clients
from connector.connections.health import connection_check, mark_broken, mark_ok
from connector.intercom_client import api_base_url
from connector.models import Health, IntercomWorkspace
from connector.signals import connection_restored
from sandbox.intercom import IntercomSimulator
from tests.factories import IntercomWorkspaceFactory, JiraSiteFactory

SECRET = "client-secret-5f3a"


@pytest.fixture
def intercom():
    """A workspace with a recognisable id and name, which the connection pages must show."""
    with IntercomSimulator(app_id="abc123", app_name="Acme Support") as sim:
        yield sim


@pytest.fixture
def restored():
    """The connections `connection_restored` was sent for, in order."""
    sent = []

    def receiver(sender, connection, **kwargs):
        sent.append((sender, connection.pk))

    connection_restored.connect(receiver)
    yield sent
    connection_restored.disconnect(receiver)


def connect(client, sim, *, token=None, region="us", pk=None):
    url = reverse("intercom_workspace_edit", args=[pk]) if pk else reverse("intercom_workspace_create")
    data = {
        "region": region,
        "access_token": token or sim.default_token,
        "client_secret": SECRET,
        "api_base_url": sim.url,
    }
    return client.post(url, data, follow=True)


@pytest.mark.parametrize(
    ("region", "host"),
    [("us", "https://api.intercom.io"), ("eu", "https://api.eu.intercom.io"), ("au", "https://api.au.intercom.io")],
)
def test_each_region_calls_its_own_api_host(region, host, db):
    workspace = IntercomWorkspaceFactory(region=region)
    assert api_base_url(workspace.region, workspace.api_base_url) == host
    client = clients.intercom_client(workspace)
    try:
        assert str(client._sdk._client_wrapper.get_base_url()).rstrip("/") == host
    finally:
        client.shutdown()


def test_connecting_lists_the_admins_and_defaults_the_note_author_to_the_token_admin(admin_client, intercom):
    intercom.add_admin("Grace Agent", "grace@example.com")
    page = connect(admin_client, intercom).content.decode()
    workspace = IntercomWorkspace.objects.get()
    assert (workspace.workspace_id, workspace.name, workspace.health) == ("abc123", "Acme Support", Health.OK)
    assert workspace.app_admin_id == intercom.app_admin["id"]
    assert "Grace Agent" in page and "Jira Connector" in page
    assert SECRET not in page and intercom.default_token not in page


def test_the_admin_picks_another_note_author(admin_client, intercom):
    grace = intercom.add_admin("Grace Agent", "grace@example.com")
    connect(admin_client, intercom)
    workspace = IntercomWorkspace.objects.get()
    admin_client.post(reverse("intercom_workspace_detail", args=[workspace.pk]), {"admin_id": grace["id"]})
    workspace.refresh_from_db()
    assert (workspace.app_admin_id, workspace.app_admin_name) == (grace["id"], "Grace Agent")
    page = admin_client.post(reverse("intercom_workspace_detail", args=[workspace.pk]), {"admin_id": "404404"})
    assert page.status_code == 200
    workspace.refresh_from_db()
    assert workspace.app_admin_id == grace["id"]


def test_a_wrong_token_names_the_regional_host_and_saves_nothing(admin_client, intercom):
    page = connect(admin_client, intercom, token="wrong-token", region="eu").content.decode()
    assert "Intercom refused the access token at https://api.eu.intercom.io (401)" in page
    assert not IntercomWorkspace.objects.exists()


def test_the_client_secret_is_required(admin_client, intercom):
    page = admin_client.post(
        reverse("intercom_workspace_create"),
        {"region": "us", "access_token": intercom.default_token, "api_base_url": intercom.url},
    ).content.decode()
    assert "Enter the client secret" in page
    assert not IntercomWorkspace.objects.exists()


def test_revoked_token_breaks_the_workspace_and_a_new_token_restores_it(admin_client, intercom, restored):
    connect(admin_client, intercom)
    workspace = IntercomWorkspace.objects.get()
    intercom.revoke_token()
    assert connection_check(workspace) is False
    workspace.refresh_from_db()
    assert workspace.health == Health.BROKEN and "401" in workspace.health_error
    intercom.add_token("fresh-token")
    admin_client.post(
        reverse("intercom_workspace_edit", args=[workspace.pk]),
        {"region": "us", "access_token": "fresh-token", "api_base_url": intercom.url},  # client secret kept
    )
    workspace.refresh_from_db()
    assert (workspace.health, workspace.access_token, workspace.client_secret) == (Health.OK, "fresh-token", SECRET)
    assert restored == [(IntercomWorkspace, workspace.pk)]


def test_revoke_deletes_the_access_token_and_keeps_the_client_secret(admin_client, intercom):
    connect(admin_client, intercom)
    workspace = IntercomWorkspace.objects.get()
    admin_client.post(reverse("intercom_workspace_revoke", args=[workspace.pk]))
    workspace.refresh_from_db()
    assert (workspace.health, workspace.access_token, workspace.client_secret) == (Health.REVOKED, "", SECRET)
    assert connection_check(workspace) is False  # nothing to check with


def test_a_token_of_another_workspace_cannot_replace_this_ones(admin_client, intercom):
    connect(admin_client, intercom)
    workspace = IntercomWorkspace.objects.get()
    with IntercomSimulator(app_id="other9", token="other-token") as other:
        page = admin_client.post(
            reverse("intercom_workspace_edit", args=[workspace.pk]),
            {"region": "us", "access_token": "other-token", "api_base_url": other.url},
        ).content.decode()
    assert "belongs to a different Intercom workspace" in page
    workspace.refresh_from_db()
    assert workspace.access_token == intercom.default_token


def test_the_webhook_help_gives_the_url_and_topics(admin_client, intercom, settings):
    settings.PUBLIC_URL = "https://connector.example.com"
    connect(admin_client, intercom)
    workspace = IntercomWorkspace.objects.get()
    page = admin_client.get(reverse("intercom_workspace_detail", args=[workspace.pk])).content.decode()
    assert f"https://connector.example.com/webhooks/intercom/{workspace.public_id}" in page
    assert "conversation.admin.closed" in page and "conversation.deleted" in page


@pytest.mark.parametrize("factory", [JiraSiteFactory, IntercomWorkspaceFactory])
def test_mark_broken_then_mark_ok_sends_restored_once(factory, db, restored):
    connection = factory()
    mark_ok(connection)
    assert restored == []  # was already ok
    mark_broken(connection, "Intercom refused the token (401).")
    assert connection.health == Health.BROKEN
    mark_ok(connection)
    mark_ok(connection)
    assert restored == [(type(connection), connection.pk)]
    assert (connection.health, connection.health_error) == (Health.OK, "")


def test_mark_broken_leaves_a_revoked_connection_revoked(db):
    workspace = IntercomWorkspaceFactory(health=Health.REVOKED, access_token="")
    mark_broken(workspace, "401")
    assert workspace.health == Health.REVOKED


def test_a_non_ascii_access_token_is_refused_on_its_field(admin_client, intercom):
    response = connect(admin_client, intercom, token="tök€n")
    assert response.status_code == 200
    assert "ASCII" in response.content.decode()
    assert not IntercomWorkspace.objects.exists()

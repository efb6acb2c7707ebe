"""The connections REST API: same rules as the pages, secrets write-only, permission required."""

import json

from connector.models import JiraSite
from sandbox.jira import APP_USER_TOKEN
from tests.factories import IntercomWorkspaceFactory, ProjectConnectionFactory, UserFactory

SITES = "/api/connections/jira-sites/"
WORKSPACES = "/api/connections/intercom-workspaces/"
PROJECTS = "/api/connections/project-connections/"




def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def create_site(client, jira, **overrides):
    data = {
        "name": "Jira",
        "base_url": jira.url,
        "deployment": "cloud",
        "account_email": jira.app_user["emailAddress"],
        "api_token": APP_USER_TOKEN,
        **overrides,
    }
    return post(client, SITES, data)


def test_creating_a_site_verifies_it_and_never_returns_the_token(admin_client, jira):
    response = create_site(admin_client, jira)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["app_account_id"] == jira.app_user["accountId"] and body["health"] == "ok"
    assert body["has_credentials"] is True and "api_token" not in body
    listing = admin_client.get(SITES).content.decode()
    assert APP_USER_TOKEN not in listing and JiraSite.objects.get().webhook_secret not in listing


def test_a_wrong_token_or_private_url_is_a_400_with_the_reason(admin_client, jira, settings):
    response = create_site(admin_client, jira, api_token="nope")
    assert response.status_code == 400 and "401" in response.json()["api_token"][0]
    settings.ALLOW_PRIVATE_URLS = False
    response = create_site(admin_client, jira, base_url="https://169.254.169.254")
    assert response.status_code == 400 and "link-local" in response.json()["base_url"][0]
    assert not JiraSite.objects.exists()


def test_a_partial_update_without_a_token_keeps_the_stored_one(admin_client, jira):
    site_id = create_site(admin_client, jira).json()["id"]
    response = admin_client.patch(
        f"{SITES}{site_id}/", json.dumps({"name": "Renamed"}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    site = JiraSite.objects.get()
    assert (site.name, site.api_token) == ("Renamed", APP_USER_TOKEN)


def test_revoke_check_permissions_and_webhook_actions(admin_client, jira, settings):
    settings.PUBLIC_URL = "https://connector.example.com"
    site_id = create_site(admin_client, jira).json()["id"]
    jira.set_permissions(jira.app_user["accountId"], "SUP", {"BROWSE_PROJECTS"})
    ProjectConnectionFactory(
        site=JiraSite.objects.get(pk=site_id), project_id=jira._project("SUP")["id"], project_key="SUP"
    )
    checklist = admin_client.get(f"{SITES}{site_id}/permissions/").json()["projects"][0]
    granted = {p["key"]: p["granted"] for p in checklist["permissions"]}
    assert granted["BROWSE_PROJECTS"] is True and granted["ADD_COMMENTS"] is False
    assert admin_client.get(f"{SITES}{site_id}/webhook/").json()["url"].startswith("https://connector.example.com/")
    assert post(admin_client, f"{SITES}{site_id}/register-webhook/", {}).status_code == 200
    revoked = post(admin_client, f"{SITES}{site_id}/revoke/", {}).json()
    assert (revoked["health"], revoked["has_credentials"]) == ("revoked", False)
    assert post(admin_client, f"{SITES}{site_id}/check/", {}).json()["works"] is False


def test_workspaces_take_secrets_write_only_and_set_the_note_author(admin_client, intercom):
    grace = intercom.add_admin("Grace Agent", "grace@example.com")
    response = post(
        admin_client,
        WORKSPACES,
        {"region": "us", "api_base_url": intercom.url, "access_token": intercom.default_token, "client_secret": "cs-1"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "access_token" not in body and "client_secret" not in body and body["health"] == "ok"
    admins = admin_client.get(f"{WORKSPACES}{body['id']}/admins/").json()
    assert grace["id"] in {a["id"] for a in admins}
    chosen = post(admin_client, f"{WORKSPACES}{body['id']}/note-author/", {"admin_id": grace["id"]}).json()
    assert chosen["app_admin_name"] == "Grace Agent"
    text = admin_client.get(WORKSPACES).content.decode()
    assert intercom.default_token not in text and "cs-1" not in text


def test_project_connections_are_checked_against_what_the_app_user_can_browse(admin_client, jira):
    site_id = create_site(admin_client, jira).json()["id"]
    workspace = IntercomWorkspaceFactory()
    hidden = jira.add_project("HR", "People")
    jira.set_permissions(jira.app_user["accountId"], "HR", set())
    ok = post(
        admin_client,
        PROJECTS,
        {
            "site": site_id,
            "workspace": workspace.pk,
            "project_id": jira._project("SUP")["id"],
            "comment_from_jira": False,
        },
    )
    assert ok.status_code == 201 and ok.json()["project_key"] == "SUP" and ok.json()["comment_from_jira"] is False
    refused = post(admin_client, PROJECTS, {"site": site_id, "workspace": workspace.pk, "project_id": hidden["id"]})
    assert refused.status_code == 400 and "cannot browse" in refused.json()["project_id"][0]


def test_the_api_requires_manage_connections(client, db):
    client.force_login(UserFactory(role="Agent"))
    assert client.get(SITES).status_code == 403
    client.logout()
    assert client.get(SITES).status_code == 401  # anonymous: told to authenticate (Bearer), not refused


def test_a_token_that_cannot_travel_in_a_header_is_a_clear_400(admin_client, jira, intercom):
    site = create_site(admin_client, jira, api_token="tökén")
    assert site.status_code == 400 and "Copy it again" in site.json()["api_token"][0]
    workspace = post(admin_client, WORKSPACES, {"name": "W", "access_token": "tökén", "client_secret": "s"})
    assert workspace.status_code == 400 and "Copy it again" in workspace.json()["access_token"][0]


def test_deeply_nested_json_is_a_400_not_a_500(admin_client):
    body = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    response = admin_client.post(SITES, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_a_non_ascii_access_token_is_a_400_on_that_field(admin_client, intercom):
    data = {"region": "us", "api_base_url": intercom.url, "access_token": "tök€n", "client_secret": "cs-1"}
    response = post(admin_client, WORKSPACES, data)
    assert response.status_code == 400
    assert "ASCII" in str(response.json()["access_token"])


def test_a_non_ascii_jira_token_is_a_400_on_that_field(admin_client, jira):
    for deployment in ("cloud", "datacenter"):
        response = create_site(admin_client, jira, api_token="tök€n", deployment=deployment)
        assert response.status_code == 400
        assert "ASCII" in str(response.json()["api_token"])


def test_an_account_email_that_cannot_travel_in_basic_auth_is_a_400(admin_client, jira):
    response = create_site(admin_client, jira, account_email="app@ex€mple.com")
    assert response.status_code == 400
    assert "account_email" in response.json()

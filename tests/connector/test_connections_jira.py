"""Connecting Jira sites from the admin pages, against the Jira simulator on PostgreSQL."""

import pytest
from django.urls import reverse

from connector.models import Health, JiraSite
from connector.signals import connection_restored
from sandbox.jira import APP_USER_TOKEN
from tests.factories import IntercomWorkspaceFactory, ProjectConnectionFactory, UserFactory


@pytest.fixture
def restored():
    """The connections `connection_restored` was sent for, in order."""
    sent = []

    def receiver(sender, connection, **kwargs):
        sent.append((sender, connection.pk))

    connection_restored.connect(receiver)
    yield sent
    connection_restored.disconnect(receiver)


def connect(client, sim, *, token=APP_USER_TOKEN, email=None, base_url=None, follow=True):
    data = {
        "name": "Our Jira",
        "base_url": base_url or sim.url,
        "deployment": sim.deployment,
        "account_email": email if email is not None else sim.app_user["emailAddress"],
        "api_token": token,
    }
    return client.post(reverse("jira_site_create"), data, follow=follow)


def test_connecting_a_cloud_site_shows_who_the_app_user_is(admin_client, jira):
    page = connect(admin_client, jira).content.decode()
    site = JiraSite.objects.get()
    assert site.health == Health.OK
    assert site.app_account_id == jira.app_user["accountId"]
    assert site.api_token == APP_USER_TOKEN  # readable by the service, encrypted at rest
    assert "Intercom Connector" in page and jira.app_user["accountId"] in page
    assert "useravatar" in page  # the avatar Jira gave


def test_connecting_a_data_center_site_uses_the_personal_access_token(admin_client, jira_dc):
    connect(admin_client, jira_dc, email="")
    site = JiraSite.objects.get()
    assert site.deployment == "datacenter" and site.account_email == ""
    assert site.app_account_id == jira_dc.app_user["key"]
    assert site.app_display_name == "Intercom Connector"


def test_a_wrong_token_is_refused_in_plain_words_and_nothing_is_saved(admin_client, jira):
    page = connect(admin_client, jira, token="not-the-token").content.decode()
    assert "Jira refused these credentials (401)" in page
    assert "not-the-token" not in page
    assert not JiraSite.objects.exists()


def test_an_unreachable_host_is_reported(admin_client, jira):
    page = connect(admin_client, jira, base_url="http://127.0.0.1:9").content.decode()
    assert "could not be reached" in page
    assert not JiraSite.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://jira.example.com",
        "https://127.0.0.1",
        "https://169.254.169.254",
        "https://10.0.0.8",
        "https://localhost",
    ],
)
def test_ssrf_attempts_are_refused_before_any_call(admin_client, jira, settings, url):
    settings.ALLOW_PRIVATE_URLS = False
    page = connect(admin_client, jira, base_url=url).content.decode()
    assert "https://" in page or "private, loopback or link-local" in page
    assert not JiraSite.objects.exists()


def test_the_form_refuses_the_simulator_itself_when_private_urls_are_off(admin_client, jira, settings):
    settings.ALLOW_PRIVATE_URLS = False
    connect(admin_client, jira)
    assert not JiraSite.objects.exists()
    assert jira.stats()["statuses"] == {}


def _connected_site(admin_client, sim):
    connect(admin_client, sim)
    return JiraSite.objects.get()


def test_the_checklist_shows_missing_permissions_and_what_to_change(admin_client, jira):
    site = _connected_site(admin_client, jira)
    jira.set_permissions(jira.app_user["accountId"], "SUP", {"BROWSE_PROJECTS", "ADD_COMMENTS"})
    ProjectConnectionFactory(site=site, project_id=jira._project("SUP")["id"], project_key="SUP")
    page = admin_client.get(reverse("jira_site_detail", args=[site.pk])).content.decode()
    assert page.count('aria-label="granted"') == 2
    assert page.count('aria-label="missing"') == 4  # create, edit, transition, attachments
    assert "grant “Edit issues” to the app user" in page
    assert "far more than it needs" not in page
    assert "looks like a person" not in page  # a dedicated app account


def test_the_checklist_warns_about_too_much_access_and_team_managed_projects(admin_client, jira):
    site = _connected_site(admin_client, jira)
    project = jira.add_project("TM", "Team managed", style="next-gen")
    jira.set_permissions(jira.app_user["accountId"], "TM", {"BROWSE_PROJECTS", "ADMINISTER_PROJECTS", "DELETE_ISSUES"})
    jira.set_global_permissions(jira.app_user["accountId"], {"ADMINISTER"})
    ProjectConnectionFactory(site=site, project_id=project["id"], project_key="TM")
    page = admin_client.get(reverse("jira_site_detail", args=[site.pk])).content.decode()
    assert "Administer projects, Delete issues, Administer Jira" in page and "far more than it needs" in page
    assert "team-managed project" in page


def test_a_personal_account_as_app_user_is_warned_about(admin_client, jira):
    connect(admin_client, jira, email="ada@example.com", token="ada-token")
    site = JiraSite.objects.get()
    page = admin_client.get(reverse("jira_site_detail", args=[site.pk])).content.decode()
    assert site.app_account_type == "atlassian"
    assert "looks like a person&#x27;s own account" in page


def test_the_project_picker_lists_only_projects_the_app_user_can_browse(admin_client, jira):
    site = _connected_site(admin_client, jira)
    workspace = IntercomWorkspaceFactory()
    hidden = jira.add_project("HR", "People")
    jira.set_permissions(jira.app_user["accountId"], "HR", set())
    page = admin_client.get(reverse("project_connection_create", args=[site.pk])).content.decode()
    assert "SUP — Support" in page and "HR — People" not in page
    admin_client.post(
        reverse("project_connection_create", args=[site.pk]),
        {"project_id": jira._project("SUP")["id"], "workspace": workspace.pk, "linking_enabled": "on"},
    )
    connection = site.projects.get()
    assert (connection.project_key, connection.linking_enabled, connection.auto_link_urls) == ("SUP", True, False)
    refused = admin_client.post(
        reverse("project_connection_create", args=[site.pk]), {"project_id": hidden["id"], "workspace": workspace.pk}
    )
    assert site.projects.count() == 1 and refused.status_code == 200


def test_revoked_token_breaks_the_site_and_reconnecting_restores_it(admin_client, jira, restored):
    site = _connected_site(admin_client, jira)
    ProjectConnectionFactory(site=site, project_id="1", project_key="SUP")
    jira.revoke_credentials(jira.app_user["accountId"])
    admin_client.post(reverse("jira_site_check", args=[site.pk]))
    site.refresh_from_db()
    assert site.health == Health.BROKEN and "401" in site.health_error
    banner = admin_client.get(reverse("home")).content.decode()
    assert "Our Jira" in banner and "is broken" in banner

    jira.add_credentials(jira.app_user["accountId"], "new-token")
    admin_client.post(
        reverse("jira_site_edit", args=[site.pk]),
        {
            "name": "Our Jira",
            "base_url": jira.url,
            "deployment": "cloud",
            "account_email": jira.app_user["emailAddress"],
            "api_token": "new-token",
        },
    )
    site.refresh_from_db()
    assert site.health == Health.OK and site.api_token == "new-token"
    assert restored == [(JiraSite, site.pk)]
    assert site.projects.count() == 1  # links, rules and projects survive


def test_revoke_deletes_credentials_but_keeps_projects_and_reconnect_can_change_the_app_user(admin_client, jira):
    site = _connected_site(admin_client, jira)
    ProjectConnectionFactory(site=site, project_id="1", project_key="SUP")
    admin_client.post(reverse("jira_site_revoke", args=[site.pk]))
    site.refresh_from_db()
    assert (site.health, site.api_token, site.projects.count()) == (Health.REVOKED, "", 1)
    other = jira.add_user("Jira Bot Two", "bot2@apps.example.com", account_type="app", password="bot2-token")
    blank = admin_client.post(
        reverse("jira_site_edit", args=[site.pk]),
        {"name": "Our Jira", "base_url": jira.url, "deployment": "cloud", "account_email": other["emailAddress"]},
    )
    assert "Enter the API token" in blank.content.decode()
    admin_client.post(
        reverse("jira_site_edit", args=[site.pk]),
        {
            "name": "Our Jira",
            "base_url": jira.url,
            "deployment": "cloud",
            "account_email": other["emailAddress"],
            "api_token": "bot2-token",
        },
    )
    site.refresh_from_db()
    assert (site.health, site.app_account_id, site.projects.count()) == (Health.OK, other["accountId"], 1)


def test_secrets_never_appear_in_any_page(admin_client, jira):
    site = _connected_site(admin_client, jira)
    ProjectConnectionFactory(site=site, project_id=jira._project("SUP")["id"], project_key="SUP")
    pages = [
        reverse("connections"),
        reverse("jira_site_detail", args=[site.pk]),
        reverse("jira_site_edit", args=[site.pk]),
        reverse("project_connection_create", args=[site.pk]),
        reverse("home"),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert APP_USER_TOKEN not in html, url
        assert site.webhook_secret not in html, url


def test_the_webhook_help_gives_url_events_and_the_secret_only_on_request(admin_client, jira, settings):
    settings.PUBLIC_URL = "https://connector.example.com"
    site = _connected_site(admin_client, jira)
    detail = admin_client.get(reverse("jira_site_detail", args=[site.pk])).content.decode()
    assert f"https://connector.example.com/webhooks/jira/{site.public_id}" in detail
    assert "jira:issue_updated" in detail and "comment_created" in detail
    assert admin_client.get(reverse("jira_webhook_secret", args=[site.pk])).status_code == 405
    reveal = admin_client.post(reverse("jira_webhook_secret", args=[site.pk]))
    assert site.webhook_secret in reveal.content.decode()
    assert "no-store" in reveal["Cache-Control"]
    rotated = admin_client.post(reverse("jira_webhook_secret", args=[site.pk]), {"rotate": "1"})
    site.refresh_from_db()
    assert site.webhook_secret in rotated.content.decode()


def test_the_register_button_creates_a_signed_webhook_in_jira(admin_client, jira, settings):
    settings.PUBLIC_URL = "https://connector.example.com"
    site = _connected_site(admin_client, jira)
    ProjectConnectionFactory(site=site, project_id=jira._project("SUP")["id"], project_key="SUP")
    admin_client.post(reverse("jira_webhook_register", args=[site.pk]))
    hook = jira.webhooks[-1]
    assert hook["url"] == f"https://connector.example.com/webhooks/jira/{site.public_id}"
    assert hook["secret"] == site.webhook_secret
    assert "comment_created" in hook["events"]
    site.refresh_from_db()
    assert site.webhook_registered_at is not None


def test_people_without_manage_connections_are_refused(client, db):
    client.force_login(UserFactory(role="Agent"))
    assert client.get(reverse("connections")).status_code == 403
    assert client.get(reverse("jira_site_create")).status_code == 403


def test_a_non_ascii_api_token_is_refused_on_its_field(admin_client, jira):
    response = connect(admin_client, jira, token="tök€n")
    assert response.status_code == 200
    assert "ASCII" in response.content.decode()
    assert not JiraSite.objects.exists()

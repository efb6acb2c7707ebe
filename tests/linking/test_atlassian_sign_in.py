"""Sign in with Atlassian against the sandbox's authorization server: a Jira user signs in and sees exactly what
their own Jira permission allows, with a least-privilege app user; every way the flow can fail ends on a 4xx
page that says why."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connection
from django.test import override_settings

from accounts.models import Profile, SignInPolicy
from connector.models import JiraSite, JiraUserToken
from sandbox.atlassian_auth import AuthorizationServer
from sandbox.jira import JiraSimulator
from tests import factories

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/sign-in/atlassian/callback"
PASSWORD = "jira password"


@pytest.fixture
def auth(connected):
    """Atlassian's authorization server for the connected Cloud site, with an OAuth client for this service;
    the app user holds no Administer Jira."""
    server = AuthorizationServer(connected.jira)
    server.add_client("connector-client", "client-secret", CALLBACK)
    connected.site.oauth_client_id, connected.site.oauth_client_secret = "connector-client", "client-secret"
    connected.site.jira_instance_id = connected.jira.cloud_id
    connected.site.save()
    connected.jira.set_global_permissions(connected.jira.app_user["accountId"], set())
    with override_settings(ATLASSIAN_AUTH_URL=connected.jira.url, ATLASSIAN_API_URL=connected.jira.url):
        yield server


@pytest.fixture
def bea(connected, auth):
    """A Jira user who may browse SUP but not SEC (both projects connected)."""
    user = connected.jira.add_user("Bea Engineer", "bea@example.com")
    auth.set_password(user, PASSWORD)
    sec = connected.jira.add_project("SEC", "Security")
    factories.ProjectConnectionFactory(site=connected.site, workspace=connected.workspace, project_id=sec["id"],
                                       project_key="SEC")
    connected.jira.set_permissions(user["accountId"], "SEC", set())
    return user


def consent(client, site, *, email="bea@example.com", password=PASSWORD, decision="accept") -> str:
    """Start the sign-in here, answer Atlassian's consent page, and return where Atlassian sends the browser."""
    start = client.get(f"/sign-in/atlassian/{site.pk}/")
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    assert httpx.get(authorize).status_code == 200  # the consent page
    fields = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    answer = httpx.post(authorize.split("?")[0], data={**fields, "email": email, "password": password,
                                                       "decision": decision})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def finish(client, location: str):
    return client.get(location.removeprefix("http://testserver"))


def test_a_jira_user_signs_in_and_sees_exactly_what_their_own_jira_permission_allows(connected, auth, bea, client):
    mine = connected.issue("Checkout fails")
    secret = connected.jira.create_issue("SEC", "Breach")
    connected.link(mine, "101")
    response = finish(client, consent(client, connected.site))
    assert response.status_code == 302 and response["Location"] == "/"
    user = Profile.objects.get(jira_account_id=bea["accountId"]).user
    assert int(client.session["_auth_user_id"]) == user.pk
    assert user.groups.get().name == "Viewer"  # the policy's role for new accounts
    assert client.get(f"/issues/{mine['key']}/").status_code == 200
    connected.link(secret, "102")
    refused = client.get(f"/issues/{secret['key']}/")
    assert refused.status_code == 403
    assert f"Your Jira account may not browse {secret['key']}" in refused.content.decode()
    listed = client.get("/api/links/?issue=" + mine["key"]).json()["results"]
    assert [row["conversation_id"] for row in listed] == ["101"]
    assert connected.jira.violations == []


def test_the_viewers_own_jira_permission_decides_after_sign_in(connected, auth, bea, client):
    issue = connected.issue()
    finish(client, consent(client, connected.site))
    connected.jira.set_permissions(bea["accountId"], "SUP", set())
    response = client.get(f"/issues/{issue['key']}/")
    assert response.status_code == 403
    assert f"Your Jira account may not browse {issue['key']}" in response.content.decode()


def test_without_sign_in_a_least_privilege_app_user_cannot_tell_and_the_page_fails_closed(connected, auth, bea, client):
    issue = connected.issue()
    user = factories.UserFactory(role="Viewer")
    factories.ProfileFactory(user=user, jira_account_id=bea["accountId"])
    client.force_login(user)
    response = client.get(f"/issues/{issue['key']}/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Jira could not confirm" in page and "sign in with Atlassian, so Jira is asked with your own" in page


def test_the_token_is_kept_encrypted_and_refreshed_when_it_expires(connected, auth, bea, client):
    auth.access_token_lifetime = 1  # expires at once: the next check must refresh it
    issue = connected.issue()
    finish(client, consent(client, connected.site))
    row = JiraUserToken.objects.get()
    first = row.access_token
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM connector_jirausertoken")
        stored = cursor.fetchone()
    assert first not in stored[0] and row.refresh_token not in stored[1]
    assert client.get(f"/issues/{issue['key']}/").status_code == 200
    row.refresh_from_db()
    assert row.access_token != first and row.account_id == bea["accountId"]


def test_a_state_that_does_not_match_is_refused(connected, auth, bea, client):
    location = consent(client, connected.site)
    tampered = location.replace("state=", "state=x")
    response = finish(client, tampered)
    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_answer_without_a_started_sign_in_is_refused(connected, auth, client):
    response = client.get("/sign-in/atlassian/callback?code=abc&state=def")
    assert response.status_code == 400
    assert "Start again" in response.content.decode()


def test_declined_consent_is_a_403_that_says_so(connected, auth, bea, client):
    response = finish(client, consent(client, connected.site, decision="deny"))
    assert response.status_code == 403
    assert "You declined to share your Jira account" in response.content.decode()
    assert not JiraUserToken.objects.exists()


def test_a_bad_code_is_refused_with_a_clear_page(connected, auth, bea, client):
    location = consent(client, connected.site)
    query = parse_qs(urlsplit(location).query)
    response = client.get(f"/sign-in/atlassian/callback?code=forged&state={query['state'][0]}")
    assert response.status_code == 400
    assert "Jira did not accept the sign-in" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_code_is_used_once(connected, auth, bea, client):
    location = consent(client, connected.site)
    assert finish(client, location).status_code == 302
    client.logout()
    assert finish(client, location).status_code == 400


def test_a_wrong_client_secret_names_the_admins_fix(connected, auth, bea, client):
    connected.site.oauth_client_secret = "stale"
    connected.site.save()
    response = finish(client, consent(client, connected.site))
    assert response.status_code == 400
    assert "An admin checks the client id and secret" in response.content.decode()


def test_a_user_an_admin_mapped_gets_their_own_account(connected, auth, bea, client):
    user = factories.UserFactory(role="Agent")
    factories.ProfileFactory(user=user, jira_account_id=bea["accountId"])
    finish(client, consent(client, connected.site))
    assert int(client.session["_auth_user_id"]) == user.pk
    assert JiraUserToken.objects.get().user == user


def test_a_signed_in_user_maps_their_own_account(connected, auth, bea, client):
    user = factories.UserFactory(role="Agent")
    client.force_login(user)
    finish(client, consent(client, connected.site))
    assert Profile.objects.get(user=user).jira_account_id == bea["accountId"]


def test_an_identity_mapped_to_someone_else_is_not_taken_over(connected, auth, bea, client):
    factories.ProfileFactory(jira_account_id=bea["accountId"])
    intruder = factories.UserFactory(role="Agent")
    client.force_login(intruder)
    response = finish(client, consent(client, connected.site))
    assert response.status_code == 403
    assert "already mapped" in response.content.decode()


def test_without_account_creation_an_unknown_jira_user_is_told_whom_to_ask(connected, auth, bea, client):
    SignInPolicy.objects.update_or_create(pk=1, defaults={"create_accounts": False})
    response = finish(client, consent(client, connected.site))
    assert response.status_code == 403
    assert bea["accountId"] in response.content.decode()
    assert not Profile.objects.filter(jira_account_id=bea["accountId"]).exists()


def test_the_sign_in_page_offers_atlassian_per_configured_site(connected, auth, client):
    page = client.get("/login/").content.decode()
    assert f"/sign-in/atlassian/{connected.site.pk}/" in page
    factories.JiraSiteFactory(name="No OAuth")
    assert "No OAuth" not in client.get("/login/").content.decode()


# --- Data Center: the site's own OAuth 2.0 provider -------------------------------------------------------


@pytest.fixture
def datacenter(db, intercom_sim):
    with JiraSimulator(deployment="datacenter") as jira:
        server = AuthorizationServer(jira)
        server.add_client("dc-client", "dc-secret", CALLBACK)
        site = factories.JiraSiteFactory(
            base_url=jira.url, deployment=JiraSite.Deployment.DATACENTER, api_token="app-token",
            app_account_id=jira.app_user["accountId"], oauth_client_id="dc-client", oauth_client_secret="dc-secret",
        )
        workspace = factories.IntercomWorkspaceFactory(api_base_url=intercom_sim.url,
                                                       access_token=intercom_sim.default_token)
        sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
        factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"], project_key="SUP")
        yield jira, server, site


def test_data_center_sign_in_uses_the_sites_own_provider_and_the_users_own_token(datacenter, client):
    jira, server, site = datacenter
    dan = jira.add_user("Dan Developer", "dan@example.com")
    server.set_password(dan, PASSWORD)
    sec = jira.add_project("SEC", "Security")
    factories.ProjectConnectionFactory(site=site, workspace=site.projects.get().workspace, project_id=sec["id"],
                                       project_key="SEC")
    jira.set_permissions(dan["accountId"], "SEC", set())
    visible, hidden = jira.create_issue("SUP", "Visible"), jira.create_issue("SEC", "Hidden")
    location = consent(client, site, email="dan@example.com")
    assert location.startswith(CALLBACK)
    assert finish(client, location).status_code == 302
    assert JiraUserToken.objects.get().account_id == jira.users[dan["accountId"]]["key"]
    assert client.get(f"/issues/{visible['key']}/").status_code == 200
    refused = client.get(f"/issues/{hidden['key']}/")
    assert refused.status_code == 403
    assert f"Your Jira account may not browse {hidden['key']}" in refused.content.decode()

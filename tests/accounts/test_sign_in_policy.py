"""What admins control around Sign in with Atlassian: requiring it, mapping Jira accounts by hand, and each
site's OAuth client (its secret write-only and encrypted)."""

import pytest
from django.db import connection

from accounts.models import Profile, SignInPolicy
from connector.models import JiraSite
from tests.factories import JiraSiteFactory, ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def _with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def test_when_atlassian_sign_in_is_required_only_admins_use_a_password(client):
    SignInPolicy.objects.update_or_create(pk=1, defaults={"atlassian_required": True})
    agent = _with_password(UserFactory(username="agent", role="Agent"))
    admin = _with_password(UserFactory(username="ada", role="Admin"))
    refused = client.post("/login/", {"username": agent.username, "password": PASSWORD})
    assert refused.status_code == 200
    assert "People sign in to this service with Atlassian" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.post("/login/", {"username": admin.username, "password": PASSWORD}).status_code == 302
    assert int(client.session["_auth_user_id"]) == admin.pk


def test_a_wrong_password_still_says_so_and_not_more(client):
    SignInPolicy.objects.update_or_create(pk=1, defaults={"atlassian_required": True})
    _with_password(UserFactory(username="agent", role="Agent"))
    page = client.post("/login/", {"username": "agent", "password": "wrong"}).content.decode()
    assert "didn't match" in page
    assert "People sign in to this service with Atlassian" not in page


def test_an_admin_maps_and_edits_a_users_jira_account(admin_client):
    user = UserFactory(username="bea")
    assert "not mapped" in admin_client.get("/people/").content.decode()
    response = admin_client.post(f"/people/{user.pk}/jira-account/", {"jira_account_id": "5b10abc"})
    assert response.status_code == 302
    assert Profile.objects.get(user=user).jira_account_id == "5b10abc"
    admin_client.post(f"/people/{user.pk}/jira-account/", {"jira_account_id": "5b10def"})
    assert Profile.objects.get(user=user).jira_account_id == "5b10def"


def test_one_jira_account_maps_to_one_person(admin_client):
    ProfileFactory(user=UserFactory(username="first"), jira_account_id="5b10abc")
    second = UserFactory(username="second")
    response = admin_client.post(f"/people/{second.pk}/jira-account/", {"jira_account_id": "5b10abc"})
    assert response.status_code == 200
    assert "already mapped to first" in response.content.decode()


def test_only_people_managers_map_accounts_or_change_the_policy(client):
    client.force_login(UserFactory(role="Agent"))
    target = UserFactory()
    assert client.post(f"/people/{target.pk}/jira-account/", {"jira_account_id": "x"}).status_code == 403
    assert client.post("/people/sign-in/", {"atlassian_required": "on"}).status_code == 403
    assert not SignInPolicy.objects.filter(atlassian_required=True).exists()


def test_an_admin_requires_atlassian_sign_in(admin_client):
    response = admin_client.post("/people/sign-in/", {"atlassian_required": "on", "create_accounts": "on"})
    assert response.status_code == 302
    assert SignInPolicy.objects.get(pk=1).atlassian_required is True


def test_a_sites_oauth_secret_is_write_only_and_encrypted(admin_client):
    site = JiraSiteFactory(name="Acme")
    url = f"/connections/jira/{site.pk}/sign-in/"
    page = admin_client.get(url).content.decode()
    assert "http://testserver/sign-in/atlassian/callback" in page
    admin_client.post(url, {"client_id": "acme-client", "client_secret": "s3cret-value"})
    site = JiraSite.objects.get(pk=site.pk)
    assert (site.oauth_client_id, site.oauth_client_secret) == ("acme-client", "s3cret-value")
    assert site.atlassian_sign_in
    assert "s3cret-value" not in admin_client.get(url).content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT oauth_client_secret FROM connector_jirasite WHERE id = %s", [site.pk])
        assert "s3cret-value" not in cursor.fetchone()[0]
    admin_client.post(url, {"client_id": "acme-client", "client_secret": ""})  # blank keeps the stored secret
    assert JiraSite.objects.get(pk=site.pk).oauth_client_secret == "s3cret-value"
    admin_client.post(url, {"client_id": "", "client_secret": ""})  # no client: sign-in off
    assert JiraSite.objects.get(pk=site.pk).atlassian_sign_in is False

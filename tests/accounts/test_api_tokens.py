"""Personal API tokens: made and revoked on the user's own page, shown once, hashed at rest, and acting as
their owner (with the owner's permissions, no more) through `Authorization: Bearer <token>`."""

import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'value="(jic_[A-Za-z0-9_-]{20,})"')


def make_token(client, name="deploy script") -> str:
    response = client.post(reverse("api_tokens"), {"name": name})
    assert response.status_code == 200, response.content
    return TOKEN.search(response.content.decode()).group(1)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_is_shown_once_and_only_its_hash_is_stored(client):
    user = UserFactory(role="Viewer")
    client.force_login(user)
    token = make_token(client)
    row = ApiToken.objects.get(user=user)
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(row.prefix) and len(row.prefix) < 16
    assert token not in {str(v) for v in ApiToken.objects.values().get().values()}
    page = client.get(reverse("api_tokens")).content.decode()
    assert row.prefix in page and token not in page and "deploy script" in page


def test_a_bearer_token_acts_as_its_owner_with_the_owners_permissions(client):
    viewer, admin = UserFactory(role="Viewer"), UserFactory(role="Admin")
    client.force_login(viewer)
    viewer_token = make_token(client)
    client.force_login(admin)
    admin_token = make_token(client)
    client.logout()
    assert client.get("/api/rules/", **bearer(admin_token)).status_code == 200
    refused = client.get("/api/rules/", **bearer(viewer_token))
    assert refused.status_code == 403 and "Manage notification rules" in refused.json()["detail"]


def test_a_token_needs_no_csrf_token_for_writes(client):
    client.force_login(UserFactory(role="Admin"))
    token = make_token(client)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/api/deliveries/resend/", {"ids": [999999]}, content_type="application/json",
                           **bearer(token))
    assert response.status_code == 200, response.content


def test_using_a_token_records_when_it_was_last_used(client):
    client.force_login(UserFactory(role="Admin"))
    token = make_token(client)
    assert ApiToken.objects.get().last_used_at is None
    client.logout()
    client.get("/api/rules/", **bearer(token))
    assert ApiToken.objects.get().last_used_at is not None


def test_a_revoked_token_is_refused_and_says_so(client):
    user = UserFactory(role="Admin")
    client.force_login(user)
    token = make_token(client)
    row = ApiToken.objects.get()
    response = client.post(reverse("api_token_revoke", args=[row.pk]))
    assert response.status_code == 302
    client.logout()
    refused = client.get("/api/rules/", **bearer(token))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert refused["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer jic_" + "x" * 43, "Bearer", "Bearer a b"])
def test_a_wrong_or_malformed_token_is_a_clear_401(client, header):
    response = client.get("/api/rules/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "token" in response.json()["detail"].lower()


def test_anonymous_api_requests_are_told_to_authenticate(client):
    response = client.get("/api/rules/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_owners_token_stops_working(client):
    user = UserFactory(role="Admin")
    client.force_login(user)
    token = make_token(client)
    user.is_active = False
    user.save()
    client.logout()
    assert client.get("/api/rules/", **bearer(token)).status_code == 401


def test_nobody_revokes_someone_elses_token(client):
    owner = UserFactory(role="Admin")
    client.force_login(owner)
    make_token(client)
    row = ApiToken.objects.get()
    client.force_login(UserFactory(role="Admin"))
    assert client.post(reverse("api_token_revoke", args=[row.pk])).status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None


def test_a_token_needs_a_name(client):
    client.force_login(UserFactory(role="Viewer"))
    response = client.post(reverse("api_tokens"), {"name": "  "})
    assert response.status_code == 200 and not ApiToken.objects.exists()
    assert "required" in response.content.decode()


def test_everyone_signed_in_finds_their_tokens_in_the_navigation(client):
    client.force_login(UserFactory(role="Viewer"))
    assert f'href="{reverse("api_tokens")}"' in client.get(reverse("home")).content.decode()

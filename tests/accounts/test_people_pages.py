"""A page per person (details, access by section, deactivate, password reset, sign-in history) and the audit
log that records each change, with filters and CSV."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import AuditEntry, Profile, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_the_person_page_edits_details_and_records_before_and_after(admin_client, admin_user):
    bob = UserFactory(username="bob", role="Viewer")
    url = reverse("person", args=[bob.pk])
    assert "Never signed in." in admin_client.get(url).content.decode()
    admin_client.post(url, {"op": "details", "email": "bob@acme.test", "jira_account_id": "5b10a2844c20165700ede21g"})
    assert Profile.objects.get(user=bob).jira_account_id == "5b10a2844c20165700ede21g"
    entries = AuditEntry.objects.filter(action="person.update").order_by("pk")
    assert {(e.actor, e.target) for e in entries} == {(admin_user, "bob")}
    assert [(e.before, e.after) for e in entries] == [
        ({"jira_account_id": ""}, {"jira_account_id": "5b10a2844c20165700ede21g"}),
        ({"email": "bob@example.com"}, {"email": "bob@acme.test"}),
    ]


def test_ticking_permissions_gives_exactly_those_and_custom_access(admin_client):
    bob = UserFactory(role="Agent")
    admin_client.post(reverse("person", args=[bob.pk]),
                      {"op": "access", "role": "", "permissions": ["view_links", "export_data"]})
    bob = User.objects.get(pk=bob.pk)
    assert not bob.groups.exists()
    assert {p for p in ("view_links", "export_data", "comment_note") if bob.has_perm(f"accounts.{p}")} == {
        "view_links", "export_data"}
    entry = AuditEntry.objects.get(action="person.access")
    assert entry.before["role"] == "Agent" and entry.after == {"role": None, "permissions": ["export_data",
                                                                                           "view_links"]}


def test_nobody_changes_their_own_permissions_on_their_page(admin_client, admin_user):
    url = reverse("person", args=[admin_user.pk])
    page = admin_client.get(url).content.decode()
    assert "Nobody can change their own permissions" in page and "Save permissions" not in page
    response = admin_client.post(url, {"op": "access", "role": Role.objects.get(name="Viewer").pk})
    assert "Nobody can change their own permissions" in response.content.decode()
    assert admin_user.groups.get().name == "Admin"
    assert not AuditEntry.objects.filter(action="person.access").exists()


def test_deactivating_stops_sign_in_and_is_recorded(admin_client, client):
    bob = UserFactory(username="bob", role="Viewer")
    bob.set_password("violet tractor maple 7")
    bob.save()
    admin_client.post(reverse("person", args=[bob.pk]), {"op": "deactivate"})
    assert not User.objects.get(pk=bob.pk).is_active
    assert AuditEntry.objects.get(action="person.deactivate").after == {"active": False}


def test_nobody_deactivates_themselves(admin_client, admin_user):
    response = admin_client.post(reverse("person", args=[admin_user.pk]), {"op": "deactivate"}, follow=True)
    assert "You cannot deactivate yourself" in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).is_active


def test_a_password_reset_applies_the_validators_and_records_no_password(admin_client):
    bob = UserFactory(username="bob")
    url = reverse("person", args=[bob.pk])
    weak = admin_client.post(url, {"op": "password", "password": "bob1"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    admin_client.post(url, {"op": "password", "password": "violet tractor maple 7"})
    assert User.objects.get(pk=bob.pk).check_password("violet tractor maple 7")
    entry = AuditEntry.objects.get(action="person.password_reset")
    assert entry.after == {"password": "changed"} and "violet" not in str(entry.after)


def test_signing_in_is_kept_in_the_person_history(client, admin_client):
    bob = UserFactory(username="bob")
    bob.set_password("violet tractor maple 7")
    bob.save()
    client.logout()
    client.post(reverse("login"), {"username": "bob", "password": "violet tractor maple 7"})
    assert AuditEntry.objects.filter(action="person.sign_in", target_id=str(bob.pk)).count() == 1


def test_the_audit_log_filters_and_exports_csv(admin_client, admin_user):
    a, b = UserFactory(username="alice"), UserFactory(username="=cmd")
    for user in (a, b):
        admin_client.post(reverse("person", args=[user.pk]), {"op": "deactivate"})
    page = admin_client.get(reverse("audit_log"), {"target": "alice"}).content.decode()
    assert page.count('data-testid="audit-entry"') == 1
    response = admin_client.get(reverse("audit_log"), {"action": "person.deactivate", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["when (UTC)", "who", "action"] and len(rows) == 3
    assert {r[5] for r in rows[1:]} == {"alice", "'=cmd"}  # a formula-looking name stays text in a spreadsheet
    assert all(r[1] == admin_user.username for r in rows[1:])


def test_the_audit_log_needs_the_people_permission(client):
    client.force_login(UserFactory(role="Agent"))
    assert client.get(reverse("audit_log")).status_code == 403
    assert client.get(reverse("person", args=[1])).status_code == 403


def test_bad_filters_are_a_clear_page_not_an_error(admin_client):
    response = admin_client.get(reverse("audit_log"), {"since": "yesterday", "page": "x"})
    assert response.status_code == 200 and "Enter a valid date" in response.content.decode()


def test_an_unknown_change_is_refused_with_a_400(admin_client):
    bob = UserFactory()
    assert admin_client.post(reverse("person", args=[bob.pk]), {"op": "explode"}).status_code == 400

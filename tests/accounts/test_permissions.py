import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_builtin_roles_exist_after_migrate():
    assert set(Role.objects.values_list("name", flat=True)) >= {"Admin", "Agent", "Viewer"}


def test_navigation_shows_only_what_the_user_may_use(client):
    client.force_login(UserFactory(role="Viewer"))
    html = client.get(reverse("home")).content.decode()
    assert 'href="/people/"' not in html
    client.force_login(UserFactory(role="Admin"))
    assert 'href="/people/"' in client.get(reverse("home")).content.decode()


def test_a_refused_page_names_the_missing_permission_and_who_can_grant_it(client):
    UserFactory(username="alice", role="Admin")
    client.force_login(UserFactory(role="Viewer"))
    response = client.get(reverse("people"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "Manage users and permissions" in text
    assert "alice" in text


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("people"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_admin_gives_several_users_a_role_at_once(admin_client):
    a, b = UserFactory(role="Viewer"), UserFactory(role="Viewer")
    agent = Role.objects.get(name="Agent")
    response = admin_client.post(reverse("people"), {"users": [a.pk, b.pk], "role": agent.pk})
    assert response.status_code == 302
    for user in (a, b):
        user.refresh_from_db()
        assert user.has_perm("accounts.comment_note")


def test_specific_permissions_are_granted_and_revoked_in_bulk(admin_client):
    a, b = UserFactory(role="Agent"), UserFactory(role="Viewer")
    admin_client.post(reverse("people"), {"users": [a.pk, b.pk], "grant": ["export_data"], "revoke": ["view_links"]})
    for user in (a, b):
        user = type(user).objects.get(pk=user.pk)
        assert user.has_perm("accounts.export_data")
        assert not user.has_perm("accounts.view_links")
    assert type(a).objects.get(pk=a.pk).has_perm("accounts.comment_note")  # kept what it had


def test_nobody_can_change_their_own_permissions(admin_user):
    with pytest.raises(ValidationError, match="own permissions"):
        services.people_assign_role(actor=admin_user, users=[admin_user], role=Role.objects.get(name="Viewer"))


def test_the_last_user_who_can_manage_people_keeps_that_permission():
    last_admin, other = UserFactory(role="Admin"), UserFactory(role="Admin")
    services.people_assign_role(actor=last_admin, users=[other], role=Role.objects.get(name="Viewer"))
    with pytest.raises(ValidationError, match="nobody who can manage people"):
        services.people_set_permissions(actor=other, users=[last_admin], revoke=["manage_people"])
    assert type(last_admin).objects.get(pk=last_admin.pk).has_perm("accounts.manage_people")


def test_editing_a_role_changes_everyone_who_has_it(admin_client):
    viewer = UserFactory(role="Viewer")
    role = Role.objects.get(name="Viewer")
    admin_client.post(
        reverse("role_edit", args=[role.pk]), {"name": "Viewer", "permissions": ["view_links", "export_data"]}
    )
    assert type(viewer).objects.get(pk=viewer.pk).has_perm("accounts.export_data")


def test_the_django_admin_is_for_superusers_only(client):
    staff = UserFactory(role="Admin", is_staff=True)
    client.force_login(staff)
    assert client.get("/django-admin/").status_code == 302
    staff.is_superuser = True
    staff.save()
    assert client.get("/django-admin/").status_code == 200


def test_ensure_admin_creates_a_random_password_once(capsys):
    from django.core.management import call_command

    call_command("ensure_admin")
    first = capsys.readouterr().out
    assert "password:" in first
    call_command("ensure_admin")
    assert "password:" not in capsys.readouterr().out

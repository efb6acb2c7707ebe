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
    review = admin_client.post(reverse("people"), {"users": [a.pk, b.pk], "role": agent.pk})
    page = review.content.decode()  # first the people it applies to, nothing changed yet
    assert "Change 2 people?" in page and a.username in page and b.username in page
    assert not type(a).objects.get(pk=a.pk).has_perm("accounts.comment_note")
    response = admin_client.post(reverse("people"), {"users": [a.pk, b.pk], "role": agent.pk, "confirm": "1"})
    assert response.status_code == 302
    for user in (a, b):
        user.refresh_from_db()
        assert user.has_perm("accounts.comment_note")


def test_specific_permissions_are_granted_and_revoked_in_bulk(admin_client):
    a, b = UserFactory(role="Agent"), UserFactory(role="Viewer")
    admin_client.post(reverse("people"), {"users": [a.pk, b.pk], "grant": ["export_data"], "revoke": ["view_links"],
                                          "confirm": "1"})
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


def test_nobody_changes_their_own_permissions_by_editing_a_role_they_hold(client):
    agent_role = Role.objects.get(name="Agent")
    agent_role.permissions.add(*Role.objects.get(name="Admin").permissions.filter(codename="manage_people"))
    me = UserFactory(role="Agent")  # may manage people through the role
    UserFactory(role="Admin")
    client.force_login(me)
    assert "You hold this role" in client.get(reverse("role_edit", args=[agent_role.pk])).content.decode()
    response = client.post(
        reverse("role_edit", args=[agent_role.pk]),
        {"name": "Agent", "permissions": ["manage_people", "manage_connections", "resend"]},
    )
    assert response.status_code == 200
    assert response.content.decode().count("Nobody can change their own permissions") == 1
    assert not type(me).objects.get(pk=me.pk).has_perm("accounts.manage_connections")


def test_the_role_service_refuses_a_self_edit_from_any_caller(admin_user):
    with pytest.raises(ValidationError, match="own permissions"):
        services.role_save(
            actor=admin_user, role=Role.objects.get(name="Admin"), name="Admin", codes=["manage_people", "resend"]
        )


def test_a_role_one_holds_can_still_be_renamed(admin_user):
    role = Role.objects.get(name="Admin")
    codes = list(role.permissions.values_list("codename", flat=True))
    services.role_save(actor=admin_user, role=role, name="Administrators", codes=codes)
    assert Role.objects.get(pk=role.pk).name == "Administrators"


def test_the_last_people_manager_is_kept_across_role_edits():
    manager = UserFactory(role="Admin")
    outsider = UserFactory()
    outsider.is_superuser = False
    with pytest.raises(ValidationError, match="nobody who can manage people"):
        services.role_save(actor=outsider, role=Role.objects.get(name="Admin"), name="Admin", codes=["view_links"])
    assert type(manager).objects.get(pk=manager.pk).has_perm("accounts.manage_people")


@pytest.mark.parametrize("name", ["Viewer", "viewer"])
def test_a_role_name_already_taken_is_a_clear_error(admin_client, name):
    response = admin_client.post(reverse("role_create"), {"name": name, "permissions": ["view_links"]})
    assert response.status_code == 200
    assert "already" in response.content.decode()
    assert Role.objects.filter(name__iexact="viewer").count() == 1


def test_the_django_admin_edits_no_roles_bypassing_the_rules(client):
    root = UserFactory(role="Admin", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get("/django-admin/auth/group/").status_code == 404  # roles are edited on the people page


def test_a_superuser_cannot_change_their_own_permissions_in_the_django_admin(client):
    root = UserFactory(role="Admin", is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post(
        f"/django-admin/auth/user/{root.pk}/change/",
        {"username": root.username, "email": root.email, "is_active": "on", "is_staff": "on", "groups": [],
         "user_permissions": [], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"},
    )
    assert response.status_code == 302
    root = type(root).objects.get(pk=root.pk)
    assert root.is_superuser
    assert list(root.groups.values_list("name", flat=True)) == ["Admin"]

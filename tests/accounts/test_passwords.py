"""Passwords: Django's validators wherever one is set, and a page where everyone changes their own."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from accounts import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.mark.parametrize(
    ("username", "password"),
    [("bob", "password1234"), ("margaret.hamilton", "margaret.hamilton1"), ("carol", "738492017365")],
)
def test_the_people_page_refuses_weak_passwords(admin_client, username, password):
    response = admin_client.post(reverse("user_create"), {"username": username, "password": password})
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username=username).exists()


def test_the_people_page_accepts_a_strong_password(admin_client):
    response = admin_client.post(reverse("user_create"), {"username": "bob", "password": "violet tractor maple"})
    assert response.status_code == 302
    assert User.objects.get(username="bob").check_password("violet tractor maple")


def test_the_user_service_refuses_weak_passwords_from_any_caller():
    with pytest.raises(ValidationError):
        services.user_create(username="bob", password="password1234")
    assert not User.objects.filter(username="bob").exists()


def test_ensure_admin_points_at_the_change_password_page_and_sets_a_valid_password(capsys):
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert reverse("password_change") in out
    password = out.split("password: ")[1].split()[0]
    validate_password(password, User.objects.get(username="admin"))


def test_everyone_can_reach_the_change_password_page_from_the_navigation(client):
    client.force_login(UserFactory(role="Viewer"))
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("password_change")}"' in html


def test_a_user_changes_their_own_password_and_stays_signed_in(client):
    user = UserFactory(role="Viewer")
    user.set_password("old but long enough")
    user.save()
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "old but long enough", "new_password1": "violet tractor maple",
         "new_password2": "violet tractor maple"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).check_password("violet tractor maple")
    assert client.get(reverse("home")).status_code == 200  # the session survived the change


def test_changing_a_password_applies_the_validators_and_names_the_problem(client):
    user = UserFactory(role="Viewer", username="dana")
    user.set_password("old but long enough")
    user.save()
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "old but long enough", "new_password1": "dana1", "new_password2": "dana1"},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert User.objects.get(pk=user.pk).check_password("old but long enough")


def test_the_change_password_page_needs_a_signed_in_user(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))

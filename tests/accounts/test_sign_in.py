"""Signing in: guessing a password is stopped per account and address, and an admin can lift the lock."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture
def ada():
    user = UserFactory(username="ada", role="Admin")
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client, url, password, *, address=ATTACKER, username="ada"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def _guess(client, url, times=30, **kwargs):
    for n in range(times):
        _sign_in(client, url, f"guess number {n}", **kwargs)


@pytest.mark.parametrize("url", ["/login/", "/django-admin/login/"])
def test_thirty_wrong_passwords_lock_the_account_from_that_address(client, ada, url):
    ada.is_superuser = ada.is_staff = True  # so the Django admin would let her in
    ada.save()
    _guess(client, url)
    response = _sign_in(client, url, PASSWORD)
    assert "_auth_user_id" not in client.session
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed attempts" in text
    assert "Manage users and permissions" in text  # who can unlock it


def test_a_locked_account_is_refused_before_its_password_is_checked(client, ada, monkeypatch):
    _guess(client, "/login/")
    checked = []
    monkeypatch.setattr(type(ada), "check_password", lambda self, raw: checked.append(raw) or False)
    _sign_in(client, "/login/", PASSWORD)
    assert checked == []  # a flood of guesses costs no password hashing once locked


def test_the_lock_is_per_account_and_address(client, ada):
    other = UserFactory(username="grace")
    other.set_password(PASSWORD)
    other.save()
    _guess(client, "/login/")
    assert _sign_in(client, "/login/", PASSWORD, username="grace").status_code == 302  # another account
    client.logout()
    assert _sign_in(client, "/login/", PASSWORD, address=OFFICE).status_code == 302  # ada from her own office


def test_the_guessed_passwords_are_not_stored(client, ada):
    _guess(client, "/login/", times=2)
    attempt = AccessAttempt.objects.get(username="ada")
    assert "guess number" not in attempt.post_data


def test_a_few_typos_do_not_lock_anyone_out(client, ada):
    _guess(client, "/login/", times=3)
    assert _sign_in(client, "/login/", PASSWORD).status_code == 302


def test_only_wrong_passwords_in_a_row_count(client, ada, settings):
    for _ in range(2):
        _guess(client, "/login/", times=settings.AXES_FAILURE_LIMIT - 1)
        assert _sign_in(client, "/login/", PASSWORD).status_code == 302
        client.logout()


def test_a_people_manager_sees_the_lock_and_lifts_it(client, ada):
    _guess(client, "/login/")
    manager = UserFactory(role="Admin")
    client.force_login(manager)
    page = client.get(reverse("people")).content.decode()
    assert "ada" in page and ATTACKER in page
    response = client.post(reverse("login_unlock"), {"username": "ada", "ip_address": ATTACKER})
    assert response.status_code == 302
    client.logout()
    assert _sign_in(client, "/login/", PASSWORD).status_code == 302


def test_only_people_managers_may_lift_a_lock(client, ada):
    _guess(client, "/login/")
    client.force_login(UserFactory(role="Agent"))
    assert client.post(reverse("login_unlock"), {"username": "ada", "ip_address": ATTACKER}).status_code == 403
    client.logout()
    assert _sign_in(client, "/login/", PASSWORD).status_code == 429


def test_unlocking_needs_a_username(admin_client):
    response = admin_client.post(reverse("login_unlock"), {"ip_address": ATTACKER})
    assert response.status_code == 400


def test_behind_a_proxy_the_lock_follows_the_forwarded_address(client, ada, settings):
    settings.LOGIN_TRUSTED_PROXIES = 1
    proxy = "10.0.0.2"
    for n in range(30):  # the attacker rotates a made-up first entry; the proxy appends the real one
        client.post("/login/", {"username": "ada", "password": f"guess {n}"}, REMOTE_ADDR=proxy,
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}")
    assert _sign_in(client, "/login/", PASSWORD, address=proxy).status_code == 302  # ada, via the proxy, from elsewhere
    client.logout()
    locked = client.post("/login/", {"username": "ada", "password": PASSWORD}, REMOTE_ADDR=proxy,
                         HTTP_X_FORWARDED_FOR=ATTACKER)
    assert locked.status_code == 429


def test_a_forwarded_address_that_is_not_an_address_is_no_server_error(client, ada, settings):
    settings.LOGIN_TRUSTED_PROXIES = 1
    response = client.post("/login/", {"username": "ada", "password": "wrong"}, REMOTE_ADDR="10.0.0.2",
                           HTTP_X_FORWARDED_FOR="'; drop table users; --")
    assert response.status_code == 200
    assert AccessAttempt.objects.get(username="ada").ip_address == "10.0.0.2"


@pytest.mark.parametrize("url", ["/login/", "/django-admin/login/"])
def test_oversized_sign_in_fields_are_no_server_error(client, ada, url):
    headers = {"HTTP_USER_AGENT": "b" * 2000, "HTTP_ACCEPT": "c" * 5000}
    response = client.post(url, {"username": "a" * 400, "password": "p" * 5000}, **headers)
    assert response.status_code == 200
    response = client.post(url, {"username": "ada", "password": "wrong"}, **headers)
    assert response.status_code == 200

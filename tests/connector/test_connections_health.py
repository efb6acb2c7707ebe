"""The periodic health check and secret key rotation."""

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from connector.connection_tasks import connection_health_check, connections_health_check
from connector.models import Health, IntercomWorkspace, JiraSite
from sandbox.jira import APP_USER_TOKEN
from tests.factories import IntercomWorkspaceFactory, JiraSiteFactory


def test_the_periodic_check_marks_a_revoked_token_broken_and_a_working_one_ok(db, jira, intercom, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        site = JiraSiteFactory(
            base_url=jira.url,
            account_email=jira.app_user["emailAddress"],
            api_token=APP_USER_TOKEN,
            health=Health.BROKEN,
            health_error="old error",
        )
        workspace = IntercomWorkspaceFactory(api_base_url=intercom.url, access_token=intercom.default_token)
        revoked = JiraSiteFactory(health=Health.REVOKED, api_token="")
        intercom.revoke_token()
        assert connections_health_check() == 2  # the revoked site has nothing to check
    finally:
        app.conf.task_always_eager = False
    site.refresh_from_db()
    workspace.refresh_from_db()
    revoked.refresh_from_db()
    assert (site.health, site.health_error) == (Health.OK, "")
    assert workspace.health == Health.BROKEN and "Enter a new access token" in workspace.health_error
    assert revoked.health == Health.REVOKED


def test_an_unreachable_vendor_does_not_mark_the_connection_broken(db):
    site = JiraSiteFactory(base_url="http://127.0.0.1:9")
    assert connection_health_check("jira", site.pk) is False
    site.refresh_from_db()
    assert site.health == Health.OK
    assert connection_health_check("jira", 999999) is None  # gone: quietly nothing


def _raw(model, field):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {field} FROM {model._meta.db_table}")  # noqa: S608 - test constants
        return [row[0] for row in cursor.fetchall()]


def test_rotating_keys_re_encrypts_every_secret_under_the_new_key(db, settings):
    old, new = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    site = JiraSiteFactory(api_token="jira-token")
    workspace = IntercomWorkspaceFactory(access_token="ic-token", client_secret="ic-secret")
    assert "jira-token" not in str(_raw(JiraSite, "api_token"))  # encrypted at rest
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
    site.refresh_from_db()
    workspace.refresh_from_db()
    assert (site.api_token, workspace.access_token, workspace.client_secret) == ("jira-token", "ic-token", "ic-secret")
    assert Fernet(new.encode()).decrypt(_raw(IntercomWorkspace, "client_secret")[0].encode()) == b"ic-secret"

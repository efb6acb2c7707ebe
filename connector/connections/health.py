"""Connection health: broken on 401/403, ok again on success, and the periodic re-verification.

Delivery code calls `mark_broken` / `mark_ok` when a vendor call fails or succeeds; the state changes with
conditional updates so concurrent workers neither flap nor send `connection_restored` twice.
"""

import logging

from django.db import transaction
from django.utils import timezone

from connector.connections.clients import intercom_client, jira_client
from connector.errors import VendorError, VendorErrorKind
from connector.intercom_client import REGION_HOSTS
from connector.jira_client import avatar_url
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection
from connector.signals import connection_restored

logger = logging.getLogger(__name__)


def vendor(connection) -> str:
    return "Jira" if isinstance(connection, JiraSite) else "Intercom"


def plain_error(connection, error: VendorError, *, connecting: bool = False) -> str:
    """A vendor error in an admin's words: what went wrong and what to do.

    For the banner of a connection in use, or (`connecting`) for the form that is connecting it, where the words
    name what to check in that form. `connection` may be unsaved (the form's values).
    """
    who = vendor(connection)
    jira = who == "Jira"
    if error.status == 401:
        if connecting and jira:
            if connection.deployment == JiraSite.Deployment.CLOUD:
                hint = "Check the account email and the API token (id.atlassian.com → Security → API tokens)."
            else:
                hint = "Check the personal access token (Profile → Personal Access Tokens) and that it has not expired."
            return f"Jira refused these credentials (401). {hint}"
        if connecting:
            return (
                f"Intercom refused the access token at {REGION_HOSTS.get(connection.region, '')} (401). Check the "
                "token (Developer Hub → your app → Authentication); if the workspace is hosted in another region "
                "(Europe, Australia), pick that region."
            )
        what = "API token" if jira else "access token"
        return (
            f"{who} refused the app user's credentials (401): the {what} was revoked, expired or mistyped. "
            f"Enter a new {what} to reconnect."
        )
    if error.status == 403:
        if connecting:
            return f"{who} refused access for this {'user' if jira else 'token'} (403): {error.message}"
        return (
            f"{who} says the app user is not allowed to do this (403): {error.message}. "
            "Give the app user back its access, or connect a different app user."
        )
    if error.kind == VendorErrorKind.RATE_LIMITED and not connecting:
        return f"{who} is rate limiting the connector (429); it will try again later."
    if error.unreachable:
        if connecting and jira:
            return (
                f"Jira at {connection.base_url} could not be reached: {error.message}. "
                "Check the URL and that the site is up."
            )
        return f"{who} could not be reached: {error.message}."
    if connecting and jira and error.status == 404:
        return f"{connection.base_url} does not answer like a Jira site (404 on the REST API). Check the base URL."
    return f"{who} refused the request: {error}" + ("" if connecting else ".")


def mark_broken(connection, message: str) -> None:
    """A 401/403 (or a failed check): hold its work and show the banner. A revoked connection stays revoked."""
    now = timezone.now()
    model = type(connection)
    model.objects.filter(pk=connection.pk).exclude(health=Health.REVOKED).update(
        health=Health.BROKEN, health_error=message[:2000], health_checked_at=now
    )
    connection.refresh_from_db(fields=["health", "health_error", "health_checked_at"])
    logger.warning("connection.broken", extra={"connection": f"{model.__name__}:{connection.pk}", "error": message})


def mark_ok(connection) -> None:
    """A call worked: clear the error; when it was broken or revoked, tell held work it may resume."""
    model = type(connection)
    with transaction.atomic():
        before = model.objects.select_for_update().filter(pk=connection.pk).values_list("health", flat=True).first()
        if before is None:
            return
        model.objects.filter(pk=connection.pk).update(
            health=Health.OK, health_error="", health_checked_at=timezone.now()
        )
    connection.refresh_from_db(fields=["health", "health_error", "health_checked_at"])
    if before in (Health.BROKEN, Health.REVOKED):
        logger.info("connection.restored", extra={"connection": f"{model.__name__}:{connection.pk}"})
        connection_restored.send(sender=model, connection=connection)


def has_credentials(connection) -> bool:
    if isinstance(connection, JiraSite):
        return bool(connection.api_token)
    return bool(connection.access_token)


def connection_check(connection) -> bool:
    """Call the vendor as the app user. True when it works; a 401/403 marks the connection broken.

    Other failures (Jira down, a timeout) say nothing about the credentials, so the state is left alone.
    """
    if connection.health == Health.REVOKED or not has_credentials(connection):
        return False
    try:
        if isinstance(connection, JiraSite):
            client = jira_client(connection)
            user = client.myself()
            JiraSite.objects.filter(pk=connection.pk).update(
                app_display_name=user.get("displayName") or connection.app_display_name,
                app_avatar_url=avatar_url(user) or connection.app_avatar_url,
            )
            if not connection.jira_instance_id:
                _pin_identity(connection, client)
        else:
            client = intercom_client(connection)
            try:
                client.me()
            finally:
                client.shutdown()
    except VendorError as error:
        if error.kind == VendorErrorKind.AUTH:
            mark_broken(connection, plain_error(connection, error))
        else:
            logger.info(
                "connection.check_inconclusive",
                extra={"connection": f"{type(connection).__name__}:{connection.pk}", "error": str(error)},
            )
        return False
    mark_ok(connection)
    return True


def _pin_identity(site: JiraSite, client) -> None:
    """A site connected before identities were pinned gets its pin from the periodic check, before any move."""
    try:
        found = client.instance_id()
    except VendorError as error:
        logger.info("connection.jira_identity_unknown", extra={"site": site.pk, "error": str(error)})
        return
    if found:
        JiraSite.objects.filter(pk=site.pk, jira_instance_id="").update(jira_instance_id=found)


def connections_to_check() -> list:
    """Connections that have credentials and were not revoked."""
    return [
        *JiraSite.objects.exclude(health=Health.REVOKED).exclude(api_token=""),
        *IntercomWorkspace.objects.exclude(health=Health.REVOKED).exclude(access_token=""),
    ]


def project_permissions_record(project: ProjectConnection, missing: list[str]) -> None:
    """Keep what the app user lacks in a project (Jira permission keys), for the dashboard's health."""
    ProjectConnection.objects.filter(pk=project.pk).update(
        missing_permissions=sorted(missing), permissions_checked_at=timezone.now()
    )

"""Connection health: broken on 401/403, ok again on success, and the periodic re-verification.

Delivery code calls `mark_broken` / `mark_ok` when a vendor call fails or succeeds; the state changes with
conditional updates so concurrent workers neither flap nor send `connection_restored` twice.
"""

import logging

from django.db import transaction
from django.utils import timezone

from connector.errors import VendorError
from connector.models import Health, IntercomWorkspace, JiraSite
from connector.signals import connection_restored

logger = logging.getLogger(__name__)


def vendor(connection) -> str:
    return "Jira" if isinstance(connection, JiraSite) else "Intercom"


def plain_error(connection, error: VendorError) -> str:
    """What went wrong and what to do, for the admin who reads the banner."""
    who = vendor(connection)
    if error.status == 401:
        what = "API token" if who == "Jira" else "access token"
        return (
            f"{who} refused the app user's credentials (401): the {what} was revoked, expired or mistyped. "
            f"Enter a new {what} to reconnect."
        )
    if error.status == 403:
        return (
            f"{who} says the app user is not allowed to do this (403): {error.message}. "
            "Give the app user back its access, or connect a different app user."
        )
    if error.kind == "rate_limited":
        return f"{who} is rate limiting the connector (429); it will try again later."
    if error.kind in ("transient", "ambiguous"):
        return f"{who} could not be reached: {error.message}."
    return f"{who} refused the request: {error}."


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
    from connector.connections.services import intercom_client, jira_client

    if connection.health == Health.REVOKED or not has_credentials(connection):
        return False
    try:
        if isinstance(connection, JiraSite):
            user = jira_client(connection).myself()
            JiraSite.objects.filter(pk=connection.pk).update(
                app_display_name=user.get("displayName") or connection.app_display_name,
                app_avatar_url=_avatar(user) or connection.app_avatar_url,
            )
        else:
            client = intercom_client(connection)
            try:
                client.me()
            finally:
                client.shutdown()
    except VendorError as error:
        if error.kind == "auth":
            mark_broken(connection, plain_error(connection, error))
        else:
            logger.info(
                "connection.check_inconclusive",
                extra={"connection": f"{type(connection).__name__}:{connection.pk}", "error": str(error)},
            )
        return False
    mark_ok(connection)
    return True


def _avatar(user: dict) -> str:
    urls = user.get("avatarUrls") or {}
    return urls.get("48x48") or next(iter(urls.values()), "") if urls else ""


def connections_to_check() -> list:
    """Connections that have credentials and were not revoked."""
    return [
        *JiraSite.objects.exclude(health=Health.REVOKED).exclude(api_token=""),
        *IntercomWorkspace.objects.exclude(health=Health.REVOKED).exclude(access_token=""),
    ]

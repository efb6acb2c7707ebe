"""Writes for connections: connect (verify as the app user, then save), revoke, note author, projects, webhooks.

Secrets arrive as plain arguments and leave only into encrypted fields; a blank secret on an edit means
"keep the stored one", so forms never need to render a secret back.
"""

import logging
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from django.utils import timezone

from connector.connections.clients import intercom_client, jira_client
from connector.connections.health import mark_ok, plain_error
from connector.errors import VendorError
from connector.intercom_client import IntercomClient, api_base_url
from connector.jira_client import JiraClient, avatar_url
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection, new_webhook_secret
from connector.url_safety import UnsafeURL, validate_connection_url

logger = logging.getLogger(__name__)

JIRA_WEBHOOK_EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
]
PROJECT_TOGGLES = (
    "linking_enabled",
    "auto_link_urls",
    "comment_from_jira",
    "customer_replies_allowed",
    "conversation_view",
)


class ConnectionFailed(Exception):
    """The connection cannot be saved; `message` says why in plain words (never contains a secret)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ConnectionInUse(ConnectionFailed):
    """The connection was not deleted: `depends` counts what would go with it, by kind."""

    def __init__(self, message: str, depends: dict[str, int]):
        super().__init__(message)
        self.depends = depends


# --- Jira sites -----------------------------------------------------------------------------------------------


def jira_site_verify(*, base_url: str, deployment: str, account_email: str, api_token: str) -> tuple[dict, str]:
    """Call Jira as the app user: (its /myself, which Jira it is), or ConnectionFailed."""
    try:
        base_url = validate_connection_url(base_url)
    except UnsafeURL as exc:
        raise ConnectionFailed(exc.message, field="base_url") from None
    client = JiraClient(
        base_url=base_url,
        deployment=deployment,
        email=account_email,
        token=api_token,
        timeout=settings.VENDOR_TIMEOUT_SECONDS,
    )
    try:
        return client.myself(), client.instance_id()
    except VendorError as error:
        unsaved = JiraSite(base_url=base_url, deployment=deployment)
        field = "api_token" if error.status in (401, 403) else "base_url"
        raise ConnectionFailed(plain_error(unsaved, error, connecting=True), field=field) from None


def jira_site_instance_id(site: JiraSite) -> str:
    """Which Jira the site's stored URL leads to, asked with its stored credentials; "" when it does not answer."""
    try:
        return jira_client(site).instance_id()
    except VendorError as error:
        logger.warning("connection.jira_identity_unknown", extra={"site": site.pk, "error": str(error)})
        return ""


def _other_jira(site: JiraSite, pinned: str, found: str, base_url: str, deployment: str) -> ConnectionFailed:
    if deployment == JiraSite.Deployment.CLOUD and site.deployment == JiraSite.Deployment.CLOUD:
        told = f"its cloud id is {found or 'unknown'}, this connection was made with {pinned}"
    else:
        told = (
            f"it calls itself “{found or 'unknown'}”, this connection was made with “{pinned}” (its server title; "
            "if only the title changed, move the site first and rename it after)"
        )
    return ConnectionFailed(
        f"{base_url} is another Jira site: {told}. Links and rules belong to the Jira they were made in, so "
        "connect that Jira as a new site instead; if this is the same site at a new address, check the URL.",
        field="base_url",
    )


@transaction.atomic
def jira_site_save(
    *,
    site: JiraSite | None = None,
    name: str,
    base_url: str,
    deployment: str,
    account_email: str = "",
    api_token: str = "",
) -> JiraSite:
    """Create or update a site after Jira accepted the credentials and is the Jira it was first connected to.

    A blank token keeps the stored one, but only for the URL it was entered for: a secret never follows a
    changed URL to another host.
    """
    base_url = _validated(base_url)
    moved = site is not None and base_url != site.base_url
    if moved and not api_token:
        raise ConnectionFailed(
            "The base URL changed, so enter the API token again: a stored token is only ever sent to the site it "
            "was entered for.",
            field="api_token",
        )
    token = api_token or (site.api_token if site else "")
    if not token:
        raise ConnectionFailed(
            "Enter the API token of the app user."
            if deployment == JiraSite.Deployment.CLOUD
            else "Enter the personal access token of the app user.",
            field="api_token",
        )
    if deployment == JiraSite.Deployment.CLOUD and not account_email:
        raise ConnectionFailed(
            "Jira Cloud needs the app user's account email with the API token.", field="account_email"
        )
    _header_safe(token, field="api_token", label="API token")
    if deployment == JiraSite.Deployment.CLOUD:
        _header_safe(account_email, field="account_email", label="account email")
    clash = JiraSite.objects.filter(base_url=base_url).exclude(pk=site.pk if site else None).first()
    if clash:
        raise ConnectionFailed(f"This Jira site is already connected as “{clash.name}”.", field="base_url")
    pinned = site.jira_instance_id if site else ""
    if moved and not pinned and site.api_token:  # connected before identities were pinned: ask the old URL first
        pinned = jira_site_instance_id(site)
    user, instance_id = jira_site_verify(
        base_url=base_url, deployment=deployment, account_email=account_email, api_token=token
    )
    # A Data Center site that keeps its URL may have renamed its server title; anything else must match.
    renamed_title = site is not None and not moved and deployment == site.deployment == JiraSite.Deployment.DATACENTER
    if pinned and instance_id != pinned and not renamed_title:
        raise _other_jira(site, pinned, instance_id, base_url, deployment)
    site = site or JiraSite()
    site.jira_instance_id = instance_id or pinned
    site.name = name or base_url.split("//", 1)[-1]
    site.base_url = base_url
    site.deployment = deployment
    site.account_email = account_email if deployment == JiraSite.Deployment.CLOUD else ""
    site.api_token = token
    site.app_account_id = str(user.get("accountId") or "")
    site.app_display_name = str(user.get("displayName") or "")
    site.app_avatar_url = avatar_url(user)[:500]
    site.app_account_type = str(user.get("accountType") or "")
    site.app_email = str(user.get("emailAddress") or account_email or "")
    try:
        site.save()
    except IntegrityError:
        raise ConnectionFailed("This Jira site is already connected.", field="base_url") from None
    mark_ok(site)
    logger.info("connection.jira_connected", extra={"site": site.pk, "app_user": site.app_account_id})
    return site


def _validated(url: str) -> str:
    try:
        return validate_connection_url(url)
    except UnsafeURL as exc:
        raise ConnectionFailed(exc.message, field="base_url") from None


def jira_site_revoke(*, site: JiraSite, actor=None) -> None:
    """Delete the app user's credentials; links, rules and project connections stay for a reconnect."""
    JiraSite.objects.filter(pk=site.pk).update(
        api_token="",
        health=Health.REVOKED,
        health_error="The credentials were deleted"
        + (f" by {actor.get_username()}" if actor else "")
        + ". Enter new credentials to reconnect; links and rules are kept.",
        health_checked_at=timezone.now(),
    )
    site.refresh_from_db()
    logger.info("connection.revoked", extra={"site": site.pk})


def jira_site_rotate_webhook_secret(*, site: JiraSite) -> str:
    site.webhook_secret = new_webhook_secret()
    site.save(update_fields=["webhook_secret", "updated_at"])
    return site.webhook_secret


def jira_webhook_url(site: JiraSite, *, base: str) -> str:
    return f"{base.rstrip('/')}/webhooks/jira/{site.public_id}"


def jira_webhook_register(*, site: JiraSite, public_base: str) -> dict:
    """Register the admin webhook through Jira's REST API (the app user needs Administer Jira)."""
    keys = list(site.projects.order_by("project_key").values_list("project_key", flat=True))
    jql = f"project in ({', '.join(keys)})" if keys else ""
    try:
        hook = jira_client(site).register_webhook(
            url=jira_webhook_url(site, base=public_base),
            events=JIRA_WEBHOOK_EVENTS,
            secret=site.webhook_secret,
            jql=jql,
        )
    except VendorError as error:
        if error.status in (401, 403):
            raise ConnectionFailed(
                "Jira did not let the app user register webhooks (it needs the global permission Administer "
                "Jira). Register it by hand in Jira → System → WebHooks with the values shown, or run "
                "`manage.py register_jira_webhook` with an administrator's token."
            ) from None
        raise ConnectionFailed(f"Jira did not register the webhook: {error}") from None
    JiraSite.objects.filter(pk=site.pk).update(webhook_registered_at=timezone.now())
    return hook


def _header_safe(value: str, *, field: str, label: str) -> None:
    """Credentials travel in HTTP headers, which carry printable ASCII only; anything else is a typo, and
    would otherwise fail deep inside the HTTP client."""
    if value and not (value.isascii() and value.isprintable()):
        raise ConnectionFailed(
            f"The {label} contains characters that cannot be sent to the vendor (only plain letters, digits "
            "and punctuation). Copy it again from where it was made.",
            field=field,
        )


# --- Intercom workspaces --------------------------------------------------------------------------------------


def intercom_workspace_verify(*, region: str, api_base_url_override: str, access_token: str) -> tuple[dict, list]:
    """Call Intercom with the token: (/me with its app, the workspace's admins), or ConnectionFailed."""
    if api_base_url_override:
        try:
            api_base_url_override = validate_connection_url(api_base_url_override)
        except UnsafeURL as exc:
            raise ConnectionFailed(exc.message, field="api_base_url") from None
    client = IntercomClient(
        token=access_token,
        base_url=api_base_url(region, api_base_url_override),
        timeout=settings.VENDOR_TIMEOUT_SECONDS,
    )
    try:
        return client.me(), client.admins()
    except VendorError as error:
        unsaved = IntercomWorkspace(region=region)
        field = "region" if error.unreachable else "access_token"
        raise ConnectionFailed(plain_error(unsaved, error, connecting=True), field=field) from None
    finally:
        client.shutdown()


@transaction.atomic
def intercom_workspace_save(
    *,
    workspace: IntercomWorkspace | None = None,
    name: str = "",
    region: str,
    access_token: str = "",
    client_secret: str = "",
    api_base_url_override: str = "",
) -> IntercomWorkspace:
    """Create or update after Intercom accepted the token. Blank secrets keep the stored ones, but the access
    token only for the API host it was entered for: a new region or API URL needs it entered again."""
    if api_base_url_override:
        try:
            api_base_url_override = validate_connection_url(api_base_url_override)
        except UnsafeURL as exc:
            raise ConnectionFailed(exc.message, field="api_base_url") from None
    moved = workspace is not None and api_base_url(region, api_base_url_override) != api_base_url(
        workspace.region, workspace.api_base_url
    )
    if moved and not access_token:
        raise ConnectionFailed(
            "The region or API URL changed, so enter the access token again: a stored token is only ever sent to "
            "the host it was entered for.",
            field="access_token",
        )
    token = access_token or (workspace.access_token if workspace else "")
    secret = client_secret or (workspace.client_secret if workspace else "")
    if not token:
        raise ConnectionFailed("Enter the access token of your Intercom app.", field="access_token")
    _header_safe(token, field="access_token", label="access token")
    if not secret:
        raise ConnectionFailed(
            "Enter the client secret of your Intercom app; it verifies webhooks and Inbox app requests.",
            field="client_secret",
        )
    me, admins = intercom_workspace_verify(
        region=region, api_base_url_override=api_base_url_override, access_token=token
    )
    app = me.get("app") or {}
    workspace_id = str(app.get("id_code") or "")
    clash = (
        IntercomWorkspace.objects.filter(workspace_id=workspace_id)
        .exclude(pk=workspace.pk if workspace else None)
        .first()
        if workspace_id
        else None
    )
    if clash:
        raise ConnectionFailed(f"This Intercom workspace is already connected as “{clash.name}”.", field="access_token")
    if workspace and workspace.workspace_id and workspace_id and workspace.workspace_id != workspace_id:
        raise ConnectionFailed(
            "This token belongs to a different Intercom workspace; links are tied to the workspace, so connect "
            "it as a new workspace instead.",
            field="access_token",
        )
    workspace = workspace or IntercomWorkspace()
    workspace.name = name or str(app.get("name") or "Intercom")
    workspace.region = region
    workspace.api_base_url = api_base_url_override
    workspace.workspace_id = workspace_id
    workspace.access_token = token
    workspace.client_secret = secret
    admin_ids = {str(a.get("id")): a for a in admins}
    if workspace.app_admin_id not in admin_ids:  # first connect, or the old author is gone: the token's admin
        workspace.app_admin_id = str(me.get("id") or "")
        workspace.app_admin_name = str(me.get("name") or "")
    workspace.save()
    mark_ok(workspace)
    logger.info("connection.intercom_connected", extra={"workspace": workspace.pk})
    return workspace


def intercom_workspace_set_author(*, workspace: IntercomWorkspace, admin_id: str) -> IntercomWorkspace:
    """Pick the teammate that notes are written as; it must be an admin of the workspace."""
    client = intercom_client(workspace)
    try:
        admins = client.admins()
    except VendorError as error:
        raise ConnectionFailed(plain_error(workspace, error)) from None
    finally:
        client.shutdown()
    admin = next((a for a in admins if str(a.get("id")) == str(admin_id)), None)
    if admin is None:
        raise ConnectionFailed("That teammate is not an admin of this Intercom workspace.", field="admin_id")
    workspace.app_admin_id = str(admin["id"])
    workspace.app_admin_name = str(admin.get("name") or "")
    workspace.save(update_fields=["app_admin_id", "app_admin_name", "updated_at"])
    return workspace


def intercom_workspace_revoke(*, workspace: IntercomWorkspace, actor=None) -> None:
    """Delete the access token; links, rules and project connections stay for a reconnect."""
    IntercomWorkspace.objects.filter(pk=workspace.pk).update(
        access_token="",
        health=Health.REVOKED,
        health_error="The access token was deleted"
        + (f" by {actor.get_username()}" if actor else "")
        + ". Enter a new token to reconnect; links and rules are kept.",
        health_checked_at=timezone.now(),
    )
    workspace.refresh_from_db()


def intercom_admins(workspace: IntercomWorkspace) -> list[dict]:
    client = intercom_client(workspace)
    try:
        return client.admins()
    except VendorError as error:
        raise ConnectionFailed(plain_error(workspace, error)) from None
    finally:
        client.shutdown()


# --- project connections --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JiraProject:
    id: str
    key: str
    name: str
    team_managed: bool


def jira_projects(site: JiraSite) -> list[JiraProject]:
    """Projects the app user can browse, for the picker."""
    try:
        found = jira_client(site).projects()
    except VendorError as error:
        raise ConnectionFailed(plain_error(site, error)) from None
    return sorted(
        (
            JiraProject(
                id=str(p.get("id")),
                key=str(p.get("key")),
                name=str(p.get("name") or ""),
                team_managed=bool(p.get("simplified")) or p.get("style") == "next-gen",
            )
            for p in found
        ),
        key=lambda p: p.key,
    )


@transaction.atomic
def project_connection_save(
    *,
    connection: ProjectConnection | None = None,
    site: JiraSite,
    project_id: str,
    workspace: IntercomWorkspace,
    project_key: str = "",
    project_name: str = "",
    **toggles: bool,
) -> ProjectConnection:
    """Connect a project the app user can browse (checked live unless key and name are given, as on import)."""
    unknown = set(toggles) - set(PROJECT_TOGGLES)
    if unknown:
        raise ValueError(f"unknown toggles {sorted(unknown)}")
    if connection is None or connection.project_id != project_id:
        if not project_key:
            project = next((p for p in jira_projects(site) if p.id == str(project_id)), None)
            if project is None:
                raise ConnectionFailed(
                    "The app user cannot browse this project. Give it Browse projects in the project's "
                    "permission scheme, then try again.",
                    field="project_id",
                )
            project_key, project_name = project.key, project.name
        clash = ProjectConnection.objects.filter(site=site, project_id=project_id)
        if connection is not None:
            clash = clash.exclude(pk=connection.pk)
        if clash.exists():
            raise ConnectionFailed(f"{project_key} is already connected.", field="project_id")
    connection = connection or ProjectConnection(site=site)
    connection.site = site
    connection.project_id = str(project_id)
    if project_key:
        connection.project_key = project_key
        connection.project_name = project_name
    connection.workspace = workspace
    for name, value in toggles.items():
        setattr(connection, name, bool(value))
    connection.save()
    return connection


def project_connection_delete(*, connection: ProjectConnection) -> None:
    connection.delete()


# --- deleting connections -------------------------------------------------------------------------------------


def connection_dependents(connection: JiraSite | IntercomWorkspace) -> dict[str, int]:
    """What deleting the connection would delete with it, counted by kind. Asked of Django's deletion collector,
    so the rows of the apps above (links, rules, deliveries) are counted without importing them."""
    collector = Collector(using=router.db_for_write(type(connection)))
    try:
        collector.collect([connection])
    except (ProtectedError, RestrictedError) as error:
        blocked = error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects
        found = Counter(str(row._meta.verbose_name_plural) for row in blocked)
        raise ConnectionInUse(f"{connection.name} is still used by {_counted(found)}.", dict(found)) from None
    found: Counter = Counter()
    for model, rows in collector.data.items():
        if model is not type(connection):
            found[str(model._meta.verbose_name_plural)] += len(rows)
    for query in collector.fast_deletes:
        found[str(query.model._meta.verbose_name_plural)] += query.count()
    return {kind: count for kind, count in sorted(found.items()) if count}


def _counted(found: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in found.items())


@transaction.atomic
def connection_delete(*, connection: JiraSite | IntercomWorkspace, confirmed: bool = False) -> None:
    """Delete a site or workspace. Refused while projects are connected to it; anything else it would take with
    it (links, events, deliveries) is counted and needs `confirmed`."""
    projects = list(connection.projects.order_by("project_key").values_list("project_key", flat=True))
    if projects:
        raise ConnectionInUse(
            f"{connection.name} has connected projects: {', '.join(projects)}. Disconnect them first (their "
            "rules are kept and come back when a project is connected again).",
            {"project connections": len(projects)},
        )
    depends = connection_dependents(connection)
    if depends and not confirmed:
        raise ConnectionInUse(
            f"Deleting {connection.name} also deletes {_counted(depends)}. To delete it anyway, send the request "
            "again with ?confirm=true; to keep them, revoke its credentials instead.",
            depends,
        )
    connection.delete()
    logger.info("connection.deleted", extra={"connection": f"{type(connection).__name__}:{connection.pk}"})

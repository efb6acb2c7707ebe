"""Reads: which project connection an issue belongs to, and for the connection pages the app user's permission
checklist and the webhook setup help."""

import re
from dataclasses import dataclass, field

from django.conf import settings

from connector.connections.clients import jira_client
from connector.connections.services import JIRA_WEBHOOK_EVENTS, jira_webhook_url
from connector.crypto import secret_fields
from connector.errors import VendorError
from connector.intercom_events import IntercomTopic
from connector.jira_events import project_key_of
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection

# What a service account needs in each connected project, and where to grant it.
REQUIRED_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("BROWSE_PROJECTS", "Browse projects", "to read issues and receive their events"),
    ("CREATE_ISSUES", "Create issues", "to create issues from Intercom conversations"),
    ("ADD_COMMENTS", "Add comments", "to comment from Intercom"),
    ("EDIT_ISSUES", "Edit issues", "to keep the linked-conversations field and property current"),
    ("TRANSITION_ISSUES", "Transition issues", "to change status from Intercom"),
    ("CREATE_ATTACHMENTS", "Create attachments", "to copy conversation attachments onto issues"),
)
# More than a service account needs: the service sees and can do whatever the app user can.
EXCESS_PROJECT_PERMISSIONS = {"ADMINISTER_PROJECTS": "Administer projects", "DELETE_ISSUES": "Delete issues"}
EXCESS_GLOBAL_PERMISSIONS = {"ADMINISTER": "Administer Jira", "SYSTEM_ADMIN": "Jira System Administrators"}
_SERVICE_WORDS = re.compile(
    r"bot|connector|integration|service|svc|system|automation|intercom|api|sync|noreply|no-reply|app\b", re.I
)


def project_connection_for(
    site: JiraSite, *, project_id: str | None = "", project_key: str | None = "", issue_key: str | None = ""
) -> ProjectConnection | None:
    """The connection of an issue's project on `site`: by project id first (a project keeps its id when its key
    changes), then by project key, taken from the issue key when no project key is given."""
    projects = (
        ProjectConnection.objects.select_related("workspace", "site")
        .defer(*secret_fields(IntercomWorkspace, "workspace__"), *secret_fields(JiraSite, "site__"))
        .filter(site=site)
    )
    if project_id:
        found = projects.filter(project_id=project_id).first()
        if found:
            return found
    project_key = project_key or project_key_of(issue_key)
    if project_key:
        return projects.filter(project_key=project_key).first()
    return None


@dataclass
class PermissionItem:
    key: str
    label: str
    why: str
    granted: bool | None  # None: Jira did not answer for this permission

    @property
    def fix(self) -> str:
        return (
            f"In Jira, open the project's settings → Permissions and grant “{self.label}” to the app user "
            "(or to a group or project role it belongs to)."
        )


@dataclass
class Checklist:
    project: ProjectConnection
    items: list[PermissionItem] = field(default_factory=list)
    excess: list[str] = field(default_factory=list)
    team_managed: bool = False
    error: str = ""

    @property
    def missing(self) -> list[PermissionItem]:
        return [i for i in self.items if i.granted is False]


def _permissions_tolerant(client, project_key: str, keys: list[str]) -> dict[str, bool | None]:
    """mypermissions for several keys; a key this Jira does not know (400) is reported as None."""
    try:
        return dict(client.my_permissions(project_key, keys))
    except VendorError as error:
        if error.status != 400:
            raise
    result: dict[str, bool | None] = {}
    for key in keys:
        try:
            result[key] = client.my_permissions(project_key, [key])[key]
        except VendorError as error:
            if error.status != 400:
                raise
            result[key] = None
    return result


def project_checklist(project: ProjectConnection, *, client=None) -> Checklist:
    """✓/✗ per required permission of the app user in the project, plus too-much-access and style notes."""
    client = client or jira_client(project.site)
    checklist = Checklist(project=project)
    keys = [k for k, _, _ in REQUIRED_PERMISSIONS]
    try:
        granted = _permissions_tolerant(client, project.project_key, keys + list(EXCESS_PROJECT_PERMISSIONS))
        global_granted = _permissions_tolerant(client, "", list(EXCESS_GLOBAL_PERMISSIONS))
        details = client.project(project.project_key)
    except VendorError as error:
        checklist.error = f"Jira did not answer the permission check: {error}"
        return checklist
    checklist.items = [PermissionItem(k, label, why, granted.get(k)) for k, label, why in REQUIRED_PERMISSIONS]
    checklist.excess = [label for k, label in EXCESS_PROJECT_PERMISSIONS.items() if granted.get(k)]
    checklist.excess += [label for k, label in EXCESS_GLOBAL_PERMISSIONS.items() if global_granted.get(k)]
    checklist.team_managed = bool(details.get("simplified")) or details.get("style") == "next-gen"
    return checklist


def app_user_warnings(site: JiraSite) -> list[str]:
    """Why the app user may be a poor choice: it looks like a person's own account."""
    if not site.app_account_id:
        return []
    if site.app_account_type == "app":
        return []
    text = f"{site.app_display_name} {site.app_email}"
    if _SERVICE_WORDS.search(text):
        return []
    return [
        f"The app user “{site.app_display_name}” looks like a person's own account. The connector sees and does "
        "whatever this user can, its comments and changes appear under this person's name, and the connection "
        "breaks when the person leaves. Create a dedicated user (for example “Intercom connector”) with only "
        "the permissions below, and connect it instead."
    ]


def public_base(request=None) -> str:
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL
    return request.build_absolute_uri("/").rstrip("/") if request is not None else ""


@dataclass
class JiraWebhookSetup:
    url: str
    events: list[str]
    jql: str
    admin_page: str
    registered_at: object


def jira_webhook_setup(site: JiraSite, request=None) -> JiraWebhookSetup:
    keys = list(site.projects.order_by("project_key").values_list("project_key", flat=True))
    return JiraWebhookSetup(
        url=jira_webhook_url(site, base=public_base(request)),
        events=JIRA_WEBHOOK_EVENTS,
        jql=f"project in ({', '.join(keys)})" if keys else "",
        admin_page=f"{site.base_url}/plugins/servlet/webhooks",
        registered_at=site.webhook_registered_at,
    )


@dataclass
class IntercomWebhookSetup:
    url: str
    topics: list[str]


def intercom_webhook_setup(workspace: IntercomWorkspace, request=None) -> IntercomWebhookSetup:
    url = f"{public_base(request)}/webhooks/intercom/{workspace.public_id}"
    return IntercomWebhookSetup(url=url, topics=sorted(topic.value for topic in IntercomTopic))


def connections_overview() -> dict:
    return {
        "sites": JiraSite.objects.order_by("name").prefetch_related("projects"),
        "workspaces": IntercomWorkspace.objects.order_by("name"),
        "projects": ProjectConnection.objects.select_related("site", "workspace").order_by("site__name", "project_key"),
    }

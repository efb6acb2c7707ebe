"""Writes from the Inbox app: create a Jira issue from a conversation and link it, link an existing issue,
unlink; and the admin's create-issue form. The teammate of the signed request is recorded on each link.

Jira is called as the site's app user (connector.jira_client), before any row is written, with the Inbox's
short timeout; links go through linking.services, which writes the remote link and plans the "conversation
linked" notes (the project's rules decide whether the conversation gets one).
"""

from dataclasses import dataclass, field

from django.db import transaction

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from deliveries.models import TargetType
from inbox.fields import FieldValueError, adf, jira_value
from inbox.models import CreateIssueForm
from inbox.requests import CanvasRequest, Teammate
from inbox.selectors import inbox_jira, issue_read
from linking.conversation_urls import conversation_web_url
from linking.models import ConversationLink
from linking.services import IssueTarget, link_create, link_delete

MAX_SUMMARY = 255


class InboxRefused(Exception):
    """The teammate's request cannot be done; `message` says why and what to do, `field_errors` which field of
    the form is wrong (Jira's own messages, or ours)."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = dict(field_errors or {})


def teammate_may_create(form: CreateIssueForm, teammate: Teammate) -> bool:
    return form.allows(teammate.id, list(teammate.team_ids))


def _link(target: IssueTarget, workspace: IntercomWorkspace, request: CanvasRequest) -> tuple[ConversationLink, bool]:
    with transaction.atomic():
        return link_create(
            target=target,
            workspace=workspace,
            conversation_id=request.conversation_id,
            source=ConversationLink.Source.INBOX,
            teammate_id=request.teammate.id,
            teammate_name=request.teammate.name,
        )


def _description(site: JiraSite, request: CanvasRequest, text: str, workspace: IntercomWorkspace):
    url = conversation_web_url(app_id=workspace.workspace_id, region=workspace.region,
                               conversation_id=request.conversation_id)
    label = f"Intercom conversation {request.conversation_id}"
    if request.customer_name:
        label += f" with {request.customer_name}"
    if site.deployment == JiraSite.Deployment.CLOUD:
        return adf(text, link=(label, url))
    return f"{text}\n\n[{label}|{url}]".strip()


def issue_create_from_inbox(
    *, project: ProjectConnection, form: CreateIssueForm, request: CanvasRequest
) -> ConversationLink:
    """Create the issue in Jira from the submitted form and link it to the conversation at once."""
    if not teammate_may_create(form, request.teammate):
        raise InboxRefused(f"{request.teammate.name} may not create issues in {project.project_key}.")
    inputs, site = request.inputs, project.site
    errors: dict[str, str] = {}
    summary = str(inputs.get("summary") or "").strip()
    if not summary:
        errors["summary"] = "Enter a summary."
    issue_type = form.issue_type_id or str(inputs.get("issuetype") or "")
    if not issue_type:
        errors["issuetype"] = "Pick an issue type."
    fields: dict = {}
    for spec in form.fields:
        try:
            value = jira_value(spec, inputs.get(spec["id"], spec.get("default", "")),
                               cloud=site.deployment == JiraSite.Deployment.CLOUD)
        except FieldValueError as exc:
            errors[spec["id"]] = str(exc)
            continue
        if value is None and spec.get("required"):
            errors[spec["id"]] = f"{spec['name']} is required."
        elif value is not None:
            fields[spec["id"]] = value
    if errors:
        raise InboxRefused("Some fields need a change.", errors)
    description = str(inputs.get("description") or "").strip()
    fields.update(
        project={"id": project.project_id},
        issuetype={"id": issue_type},
        summary=summary[:MAX_SUMMARY],
        description=_description(site, request, description, project.workspace),
    )
    try:
        created = inbox_jira(site).create_issue(fields)
    except VendorError as exc:
        if exc.field_errors:
            raise InboxRefused("Jira did not accept the issue.", exc.field_errors) from None
        raise
    target = IssueTarget(
        site=site,
        issue_id=str(created["id"]),
        issue_key=str(created["key"]),
        project_key=project.project_key,
        project_id=project.project_id,
        summary=summary[:MAX_SUMMARY],
    )
    link, _ = _link(target, project.workspace, request)
    return link


def issue_link_from_inbox(*, workspace: IntercomWorkspace, site: JiraSite, issue_id: str,
                          request: CanvasRequest) -> tuple[ConversationLink, bool]:
    """Link an issue picked from the search; it must be in a project connected to this workspace."""
    try:
        target = issue_read(site, issue_id)
    except VendorError as exc:
        if exc.kind == "not_found":
            raise InboxRefused(
                f"Jira does not show that issue to the app user ({site.app_display_name or site.account_email}): "
                "it was deleted, or its project is not browsable by the app user. A Jira admin can grant it "
                "Browse projects."
            ) from None
        raise
    project = project_connection_for(site, project_id=target.project_id, project_key=target.project_key)
    if project is None or project.workspace_id != workspace.pk or not project.linking_enabled:
        raise InboxRefused(
            f"{target.issue_key} is in project {target.project_key}, which is not connected to this Intercom "
            "workspace with linking on. An admin can connect it on the Connections page."
        )
    return _link(target, workspace, request)


def link_unlink_from_inbox(*, workspace: IntercomWorkspace, link_id: str, request: CanvasRequest) -> str:
    """Unlink one of this conversation's issues; returns its key ("" when it was already gone)."""
    link = (
        ConversationLink.objects.filter(
            pk=int(link_id) if link_id.isdigit() else 0,
            workspace=workspace,
            target_type=TargetType.CONVERSATION,
            conversation_id=request.conversation_id,
        )
        .select_related("workspace")
        .first()
    )
    if link is None:
        return ""
    with transaction.atomic():
        link_delete(link=link, teammate_name=request.teammate.name)
    return link.issue_key


# --- the admin's form -----------------------------------------------------------------------------------


@dataclass
class FormChoice:
    """What the admin chose for one offered field."""

    field: dict
    asked: bool = False
    required: bool = False
    default: str = ""


@dataclass
class FormSettings:
    issue_type_id: str
    issue_type_name: str
    choices: list[FormChoice] = field(default_factory=list)
    allowed_admin_ids: list[str] = field(default_factory=list)
    allowed_team_ids: list[str] = field(default_factory=list)


def create_form_save(*, project: ProjectConnection, settings: FormSettings) -> CreateIssueForm:
    """Keep the fields asked for; a field Jira requires is always asked and required."""
    fields = []
    for choice in settings.choices:
        spec = choice.field
        required = choice.required or spec.get("jira_required", False)
        if not (choice.asked or required):
            continue
        default = choice.default.strip()
        if spec["kind"] in ("option", "options") and default not in {o["id"] for o in spec["options"]}:
            default = ""
        fields.append(
            {
                "id": spec["id"],
                "name": spec["name"],
                "kind": spec["kind"],
                "required": required,
                "default": default,
                "options": spec.get("options") or [],
            }
        )
    form, _ = CreateIssueForm.objects.update_or_create(
        project=project,
        defaults={
            "issue_type_id": settings.issue_type_id,
            "issue_type_name": settings.issue_type_name,
            "fields": fields,
            "allowed_admin_ids": sorted({a.strip() for a in settings.allowed_admin_ids if a.strip()}),
            "allowed_team_ids": sorted({t.strip() for t in settings.allowed_team_ids if t.strip()}),
        },
    )
    return form

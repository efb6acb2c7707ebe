"""What each click in the Inbox app does: a table from component id to handler, each answering a canvas.

A vendor failure becomes a canvas that says what could not be done and why, with a retry of the same step
(the request travels back in stored_data), except after a create whose outcome is unknown: retrying it could
make a second issue, so that canvas sends the teammate to search first.
"""

import logging
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings

from connector.errors import VendorError, VendorErrorKind
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from inbox import screens, selectors, services
from inbox.models import CreateIssueForm
from inbox.requests import CanvasRequest
from notifications.selectors import rules_heard

logger = logging.getLogger(__name__)


def _allowed_projects(workspace: IntercomWorkspace, request: CanvasRequest) -> tuple[list, list]:
    """(connected projects, those the teammate may create issues in)."""
    projects = selectors.projects_for_workspace(workspace)
    forms = {form.project_id: form for form in CreateIssueForm.objects.filter(project__in=projects)}
    allowed = [p for p in projects if p.pk not in forms or services.teammate_may_create(forms[p.pk], request.teammate)]
    return projects, allowed


def home(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "", *, notice: str = "") -> dict:
    projects, allowed = _allowed_projects(workspace, request)
    linked = selectors.linked_issues(workspace, request.conversation_id)
    return screens.home(linked, heard=rules_heard(projects), notice=notice, may_create=bool(allowed))


def _no_projects(workspace: IntercomWorkspace, request: CanvasRequest, projects: list) -> dict:
    if not projects:
        return screens.refused(
            f"No Jira project with linking on is connected to the Intercom workspace “{workspace.name}”. "
            "An admin can connect one on the connector's Connections page."
        )
    return screens.refused(
        f"{request.teammate.name}, you may not create Jira issues from this workspace. A connector admin can allow "
        "you or your team on the Inbox app page of the project."
    )


def create(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    projects, allowed = _allowed_projects(workspace, request)
    if not allowed:
        return _no_projects(workspace, request, projects)
    if len(allowed) == 1:
        return _form(allowed[0], request)
    return screens.project_choice(allowed)


def create_project(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    _, allowed = _allowed_projects(workspace, request)
    chosen = next((p for p in allowed if str(p.pk) == arg), None)
    if chosen is None:
        return create(workspace, request)
    return _form(chosen, request)


def _prefill(request: CanvasRequest) -> dict:
    first_line = request.first_message.splitlines()[0] if request.first_message else ""
    return {"summary": (request.title or first_line)[: services.MAX_SUMMARY], "description": request.first_message}


def _form(project: ProjectConnection, request: CanvasRequest, *, values: dict | None = None,
          errors: dict | None = None, message: str = "") -> dict:
    form = selectors.create_form_for(project)
    issue_types = None
    if not form.issue_type_id:  # no form set up yet: the teammate picks the type from what Jira offers
        types = selectors.inbox_jira(project.site).create_meta_issue_types(project.project_id)
        issue_types = [(str(t["id"]), str(t.get("name") or t["id"])) for t in types if not t.get("subtask")]
        if not issue_types:
            return screens.refused(
                f"Jira offers the app user no issue type to create in {project.project_key}. A Jira admin can "
                "grant it “Create issues” in the project's permissions."
            )
    return screens.create_form(form, values=values or _prefill(request), errors=errors,
                               issue_types=issue_types, message=message)


def _submitted_project(workspace: IntercomWorkspace, request: CanvasRequest) -> ProjectConnection | None:
    return next((p for p in selectors.projects_for_workspace(workspace)
                 if str(p.pk) == str(request.stored.get("project"))), None)


def create_submit(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    project = _submitted_project(workspace, request)
    if project is None:
        return home(workspace, request, notice="That project is no longer connected; pick again.")
    form = selectors.create_form_for(project)
    try:
        link = services.issue_create_from_inbox(project=project, form=form, request=request)
    except services.InboxRefused as exc:
        if not exc.field_errors:
            return screens.refused(exc.message)
        return _form(project, request, values=request.inputs, errors=exc.field_errors, message=exc.message)
    return home(workspace, request, notice=f"Created {link.issue_key} in Jira and linked it to this conversation.")


def link(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    return screens.link_search()


def link_search(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    query = str(request.inputs.get("query") or "").strip()
    if not query:
        return screens.link_search(message="Type an issue key (SUP-123) or a few words of its summary.")
    return screens.link_search(query=query, results=selectors.issue_search(workspace, query))


def pick(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    site_id, _, issue_id = arg.partition(":")
    site = JiraSite.objects.filter(pk=int(site_id) if site_id.isdigit() else 0, projects__workspace=workspace).first()
    if site is None or not issue_id.isdigit():
        return screens.link_search(message="That issue can no longer be linked from here; search again.")
    try:
        made, created = services.issue_link_from_inbox(workspace=workspace, site=site, issue_id=issue_id,
                                                       request=request)
    except services.InboxRefused as exc:
        return screens.link_search(message=exc.message)
    done = "Linked" if created else "Already linked:"
    return home(workspace, request, notice=f"{done} {made.issue_key}.")


def unlink(workspace: IntercomWorkspace, request: CanvasRequest, arg: str = "") -> dict:
    key = services.link_unlink_from_inbox(workspace=workspace, link_id=arg, request=request)
    return home(workspace, request, notice=f"Unlinked {key}." if key else "That issue was already unlinked.")


Handler = Callable[..., dict]
HANDLERS: dict[str, tuple[Handler, str]] = {
    "home": (home, "show the linked issues"),
    "create": (create, "open the create form"),
    "create_project": (create_project, "open the create form"),
    "create_submit": (create_submit, "create the issue in Jira"),
    "link": (link, "open the search"),
    "link_search": (link_search, "search Jira"),
    "pick": (pick, "link the issue"),
    "unlink": (unlink, "unlink the issue"),
}


def initialize(workspace: IntercomWorkspace, request: CanvasRequest) -> dict:
    return _run(home, "show the linked issues", workspace, request, "")


def submit(workspace: IntercomWorkspace, request: CanvasRequest) -> dict:
    if request.component_id == "retry":
        retry = request.stored.get("retry")
        if not isinstance(retry, dict) or retry.get("component_id") in (None, "retry"):
            return _run(home, "show the linked issues", workspace, request, "")
        request = replace(request, component_id=str(retry["component_id"]),
                          inputs=dict(retry.get("inputs") or {}), stored=dict(retry.get("stored") or {}))
    name, _, arg = request.component_id.partition(":")
    handler, what = HANDLERS.get(name, (home, "show the linked issues"))
    return _run(handler, what, workspace, request, arg)


def _run(handler: Handler, what: str, workspace: IntercomWorkspace, request: CanvasRequest, arg: str) -> dict:
    try:
        return handler(workspace, request, arg)
    except VendorError as exc:
        logger.warning("inbox.vendor_failed", extra={"step": request.component_id or "initialize",
                                                     "kind": exc.kind, "error": str(exc)})
        retry = {"component_id": request.component_id or "home", "inputs": request.inputs, "stored": request.stored}
        if exc.kind == VendorErrorKind.AMBIGUOUS and handler is create_submit:
            return screens.failure(
                what, f"Jira did not answer in time ({exc}), so the issue may have been created.",
                hint="Search for it under “Link existing issue” before creating it again.",
            )
        return screens.failure(what, _cause(exc), retry=retry)


def _cause(exc: VendorError) -> str:
    seconds = f"{settings.INBOX_VENDOR_TIMEOUT_SECONDS:g}"
    if exc.unreachable:
        return f"Jira did not answer within {seconds} seconds ({exc}). Retry in a moment."
    if exc.kind == VendorErrorKind.RATE_LIMITED:
        return "Jira is limiting how fast the connector may call it. Retry in a minute."
    if exc.kind == VendorErrorKind.AUTH:
        return (f"Jira refused the app user ({exc}). A connector admin should check the Jira connection and the "
                "app user's project permissions.")
    return f"Jira refused: {exc}"

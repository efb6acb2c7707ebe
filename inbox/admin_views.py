"""Admin pages of the Inbox app: its URLs and setup steps per workspace, the app information panel, and the
create-issue form (fields and allowed teammates) per connected project."""

from importlib.metadata import PackageNotFoundError, version

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.access import permission_required
from connector import intercom_client
from connector.connections.selectors import public_base
from connector.errors import VendorError
from connector.models import IntercomWorkspace, ProjectConnection
from inbox import services
from inbox.fields import offered_fields
from inbox.selectors import create_form_for, inbox_jira
from linking import intercom_reads
from notifications.selectors import rules_heard

CANVAS_KIT_VERSION = "2.11"


def _version() -> str:
    try:
        return version("jira-intercom-connector")
    except PackageNotFoundError:
        return "unknown"


def _setup(workspace: IntercomWorkspace, request) -> dict:
    base = public_base(request)
    return {
        "workspace": workspace,
        "initialize_url": base + reverse("inbox_initialize", args=[workspace.public_id]),
        "submit_url": base + reverse("inbox_submit", args=[workspace.public_id]),
        "projects": [
            (project, create_form_for(project), rules_heard([project]))
            for project in workspace.projects.select_related("site").order_by("project_key", "pk")
        ],
        "sites": sorted({p.site for p in workspace.projects.select_related("site")}, key=lambda s: s.name),
    }


@permission_required("manage_connections")
def inbox_app(request):
    workspaces = IntercomWorkspace.objects.order_by("name", "pk")
    return render(
        request,
        "inbox/inbox_app.html",
        {
            "setups": [_setup(w, request) for w in workspaces],
            "versions": {
                "connector": _version(),
                "canvas_kit": CANVAS_KIT_VERSION,
                "intercom_api": intercom_client.API_VERSION,
            },
        },
    )


def _form_settings(request, offered: list[dict], issue_type: tuple[str, str]) -> services.FormSettings:
    post = request.POST
    choices = [
        services.FormChoice(
            field=spec,
            asked=post.get(f"ask_{spec['id']}") == "on",
            required=post.get(f"required_{spec['id']}") == "on",
            default=post.get(f"default_{spec['id']}", ""),
        )
        for spec in offered
    ]
    return services.FormSettings(
        issue_type_id=issue_type[0],
        issue_type_name=issue_type[1],
        choices=choices,
        allowed_admin_ids=post.getlist("allowed_admin"),
        allowed_team_ids=post.get("allowed_teams", "").replace(",", " ").split(),
    )


@permission_required("manage_connections")
@require_http_methods(["GET", "POST"])
def inbox_form_edit(request, pk: int):
    project = get_object_or_404(ProjectConnection.objects.select_related("site", "workspace"), pk=pk)
    form = create_form_for(project)
    jira = inbox_jira(project.site)
    problem = ""
    types: list[tuple[str, str]] = []
    offered: list[dict] = []
    try:
        types = [(str(t["id"]), str(t.get("name") or t["id"]))
                 for t in jira.create_meta_issue_types(project.project_id) if not t.get("subtask")]
    except VendorError as exc:
        problem = (f"Jira did not list the issue types of {project.project_key} ({exc}). Check that the app user "
                   "can browse the project and create issues in it, then reload.")
    wanted = request.POST.get("issue_type") or request.GET.get("issue_type") or form.issue_type_id
    issue_type = next((t for t in types if t[0] == wanted), types[0] if types else None)
    if issue_type:
        try:
            offered = offered_fields(jira.create_meta_fields(project.project_id, issue_type[0]))
        except VendorError as exc:
            problem = f"Jira did not describe the create screen of {issue_type[1]} ({exc}). Reload to try again."
    if request.method == "POST" and issue_type and not problem:
        services.create_form_save(project=project, settings=_form_settings(request, offered, issue_type))
        messages.success(request, f"The create-issue form of {project.project_key} was saved.")
        return redirect("inbox_form_edit", pk=project.pk)
    admins, admins_problem = [], ""
    try:
        # Under the shared limiter, below the reserve kept for notes, like every other read.
        listed = intercom_reads.read(project.workspace, lambda client: client.admins(), max_wait=2.0)
        admins = [a for a in listed if a.get("has_inbox_seat", True)]
    except VendorError as exc:
        admins_problem = f"Intercom did not list the teammates ({exc}); the ids already allowed are kept."
    chosen = {f["id"]: f for f in form.fields} if issue_type and form.issue_type_id == issue_type[0] else {}
    rows = [{"spec": spec, "saved": chosen.get(spec["id"])} for spec in offered]
    return render(
        request,
        "inbox/form_edit.html",
        {
            "project": project,
            "form": form,
            "problem": problem,
            "types": types,
            "issue_type": issue_type,
            "rows": rows,
            "admins": admins,
            "admins_problem": admins_problem,
            "allowed_admins": set(form.allowed_admin_ids),
            "allowed_teams": " ".join(form.allowed_team_ids),
        },
    )

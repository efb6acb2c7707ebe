"""The connection pages: thin callers of services and selectors, all behind "manage_connections"."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import permission_required
from accounts.audit import audit_record
from connector.connections import clients, selectors, services
from connector.connections.forms import IntercomWorkspaceForm, JiraSiteForm, NoteAuthorForm, ProjectConnectionForm
from connector.connections.health import connection_check, project_permissions_record
from connector.connections.services import ConnectionFailed
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection

MANAGE = "manage_connections"


def _audit(request, action: str, target, **after) -> None:
    """Record the change in the audit log: the fields that are not secrets; for a secret only that it changed."""
    audit_record(actor=request.user, action=action, target=target, after=after, request=request)


def _fail(form, failure: ConnectionFailed) -> None:
    form.add_error(failure.field if failure.field in form.fields else None, failure.message)


@permission_required(MANAGE)
def connections(request):
    return render(request, "connector/connections.html", selectors.connections_overview())


# --- Jira sites ---------------------------------------------------------------------------------------------


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def jira_site_edit(request, pk: int | None = None):
    site = get_object_or_404(JiraSite, pk=pk) if pk else None
    form = JiraSiteForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        try:
            created = site is None
            site = services.jira_site_save(site=site, **form.cleaned_data)
        except ConnectionFailed as failure:
            _fail(form, failure)
        else:
            _audit(request, "jira_site.create" if created else "jira_site.update", site, name=site.name,
                   base_url=site.base_url, deployment=site.deployment, account_email=site.account_email,
                   api_token="changed" if form.cleaned_data.get("api_token") else "kept")
            messages.success(request, f"Connected to Jira as {site.app_display_name}.")
            return redirect("jira_site_detail", pk=site.pk)
    return render(request, "connector/jira_site_form.html", {"form": form, "site": site})


@permission_required(MANAGE)
def jira_site_detail(request, pk: int):
    site = get_object_or_404(JiraSite, pk=pk)
    checklists = []
    if site.api_token and site.health != "revoked":
        client = clients.jira_client(site)
        checklists = [selectors.project_checklist(p, client=client) for p in site.projects.order_by("project_key")]
        for checklist in checklists:  # what the page found is what the dashboard counts
            if not checklist.error:
                project_permissions_record(checklist.project, [item.key for item in checklist.missing])
    return render(
        request,
        "connector/jira_site_detail.html",
        {
            "site": site,
            "warnings": selectors.app_user_warnings(site),
            "checklists": checklists,
            "webhook": selectors.jira_webhook_setup(site, request),
            "projects": site.projects.select_related("workspace").order_by("project_key"),
        },
    )


@permission_required(MANAGE)
@require_POST
def jira_site_check(request, pk: int):
    site = get_object_or_404(JiraSite, pk=pk)
    if connection_check(site):
        messages.success(request, "Jira answered; the connection works.")
    else:
        site.refresh_from_db()
        messages.error(request, site.health_error or "The check did not succeed; Jira could not be reached.")
    return redirect("jira_site_detail", pk=pk)


@permission_required(MANAGE)
@require_POST
def jira_site_revoke(request, pk: int):
    site = get_object_or_404(JiraSite, pk=pk)
    services.jira_site_revoke(site=site, actor=request.user)
    _audit(request, "jira_site.revoke", site, credentials="deleted")
    messages.success(request, "The Jira credentials were deleted. Links, rules and projects are kept.")
    return redirect("jira_site_detail", pk=pk)


@never_cache
@permission_required(MANAGE)
@require_POST
def jira_webhook_secret(request, pk: int):
    """Shows the webhook secret on explicit request only (POST, not cached); optionally a new one first."""
    site = get_object_or_404(JiraSite, pk=pk)
    if request.POST.get("rotate"):
        services.jira_site_rotate_webhook_secret(site=site)
        _audit(request, "jira_site.webhook_secret", site, change="a new webhook secret")
        messages.warning(request, "A new webhook secret was generated; Jira deliveries fail until you paste it.")
    return render(
        request,
        "connector/jira_webhook_secret.html",
        {"site": site, "secret": site.webhook_secret, "webhook": selectors.jira_webhook_setup(site, request)},
    )


@permission_required(MANAGE)
@require_POST
def jira_webhook_register(request, pk: int):
    site = get_object_or_404(JiraSite, pk=pk)
    try:
        services.jira_webhook_register(site=site, public_base=selectors.public_base(request))
    except ConnectionFailed as failure:
        messages.error(request, failure.message)
    else:
        _audit(request, "jira_site.webhook_register", site)
        messages.success(request, "The webhook was registered in Jira.")
    return redirect("jira_site_detail", pk=pk)


# --- Intercom workspaces ------------------------------------------------------------------------------------


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def intercom_workspace_edit(request, pk: int | None = None):
    workspace = get_object_or_404(IntercomWorkspace, pk=pk) if pk else None
    form = IntercomWorkspaceForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        override = data.pop("api_base_url", "") or ""
        try:
            created = workspace is None
            workspace = services.intercom_workspace_save(workspace=workspace, api_base_url_override=override, **data)
        except ConnectionFailed as failure:
            _fail(form, failure)
        else:
            _audit(request, "intercom_workspace.create" if created else "intercom_workspace.update", workspace,
                   name=workspace.name, region=workspace.region,
                   access_token="changed" if data.get("access_token") else "kept",
                   client_secret="changed" if data.get("client_secret") else "kept")
            messages.success(request, f"Connected to the Intercom workspace {workspace.name}. Pick the note author.")
            return redirect("intercom_workspace_detail", pk=workspace.pk)
    return render(request, "connector/intercom_workspace_form.html", {"form": form, "workspace": workspace})


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def intercom_workspace_detail(request, pk: int):
    workspace = get_object_or_404(IntercomWorkspace, pk=pk)
    admins, admins_error, form = [], "", None
    if workspace.access_token and workspace.health != "revoked":
        try:
            admins = services.intercom_admins(workspace)
        except ConnectionFailed as failure:
            admins_error = failure.message
    if admins:
        form = NoteAuthorForm(request.POST or None, admins=admins, initial={"admin_id": workspace.app_admin_id})
        if request.method == "POST" and form.is_valid():
            try:
                services.intercom_workspace_set_author(workspace=workspace, admin_id=form.cleaned_data["admin_id"])
            except ConnectionFailed as failure:
                _fail(form, failure)
            else:
                _audit(request, "intercom_workspace.note_author", workspace, note_author=workspace.app_admin_name)
                messages.success(request, f"Notes are now written as {workspace.app_admin_name}.")
                return redirect("intercom_workspace_detail", pk=pk)
    return render(
        request,
        "connector/intercom_workspace_detail.html",
        {
            "workspace": workspace,
            "admins": admins,
            "admins_error": admins_error,
            "form": form,
            "webhook": selectors.intercom_webhook_setup(workspace, request),
            "projects": workspace.projects.select_related("site").order_by("project_key"),
        },
    )


@permission_required(MANAGE)
@require_POST
def intercom_workspace_check(request, pk: int):
    workspace = get_object_or_404(IntercomWorkspace, pk=pk)
    if connection_check(workspace):
        messages.success(request, "Intercom answered; the connection works.")
    else:
        workspace.refresh_from_db()
        messages.error(request, workspace.health_error or "The check did not succeed; Intercom could not be reached.")
    return redirect("intercom_workspace_detail", pk=pk)


@permission_required(MANAGE)
@require_POST
def intercom_workspace_revoke(request, pk: int):
    workspace = get_object_or_404(IntercomWorkspace, pk=pk)
    services.intercom_workspace_revoke(workspace=workspace, actor=request.user)
    _audit(request, "intercom_workspace.revoke", workspace, credentials="deleted")
    messages.success(request, "The Intercom access token was deleted. Links, rules and projects are kept.")
    return redirect("intercom_workspace_detail", pk=pk)


# --- project connections ------------------------------------------------------------------------------------


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def project_connection_edit(request, site_pk: int, pk: int | None = None):
    site = get_object_or_404(JiraSite, pk=site_pk)
    connection = get_object_or_404(ProjectConnection, pk=pk, site=site) if pk else None
    projects, projects_error = [], ""
    try:
        projects = services.jira_projects(site)
    except ConnectionFailed as failure:
        projects_error = failure.message
    form = ProjectConnectionForm(request.POST or None, projects=projects, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.project_connection_save(
                connection=connection,
                site=site,
                project_id=form.cleaned_data["project_id"],
                workspace=form.cleaned_data["workspace"],
                **form.toggles(),
            )
        except ConnectionFailed as failure:
            _fail(form, failure)
        else:
            _audit(request, "project.save", connection, workspace=str(connection.workspace), **form.toggles())
            messages.success(request, f"{connection.project_key} is connected to {connection.workspace}.")
            return redirect("jira_site_detail", pk=site.pk)
    return render(
        request,
        "connector/project_connection_form.html",
        {
            "form": form,
            "site": site,
            "connection": connection,
            "projects_error": projects_error,
            "team_managed": {p.id for p in projects if p.team_managed},
        },
    )


@permission_required(MANAGE)
@require_POST
def project_connection_delete(request, site_pk: int, pk: int):
    connection = get_object_or_404(ProjectConnection, pk=pk, site_id=site_pk)
    services.project_connection_delete(connection=connection)
    _audit(request, "project.disconnect", connection)
    messages.success(
        request,
        f"{connection.project_key} is no longer connected. Its notification rules are kept, doing nothing, and "
        "come back when you connect it again.",
    )
    return redirect("jira_site_detail", pk=site_pk)

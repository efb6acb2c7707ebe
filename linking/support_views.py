"""The project's support settings page (tracker tickets, the customer's voice) and the issue page's "create
the tracker ticket" button."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import permission_required
from connector.errors import VendorError
from connector.models import ProjectConnection
from linking import intercom_reads, selectors, services, tracker
from linking.access import issue_access
from linking.forms import SupportSettingsForm
from linking.models import SupportSettings


def _tracker_types(project: ProjectConnection) -> tuple[list[dict], str]:
    try:
        types = intercom_reads.read(project.workspace, lambda c: c.ticket_types(), max_wait=5.0)
    except VendorError as exc:
        return [], (f"Intercom did not list the workspace's ticket types ({exc}). Check the workspace's "
                    "connection, then reload this page.")
    return [t for t in types if t.get("category") == "Tracker" and not t.get("archived")], ""


@permission_required("manage_connections")
@require_http_methods(["GET", "POST"])
def support_settings(request, project_id: int):
    project = get_object_or_404(ProjectConnection.objects.select_related("workspace", "site"), pk=project_id)
    current = SupportSettings.objects.filter(project=project).first() or SupportSettings(project=project)
    ticket_types, error = _tracker_types(project)
    form = SupportSettingsForm(request.POST or None, instance=current, ticket_types=ticket_types)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the support settings of {project.project_key}.")
        return redirect("support_settings", project_id=project.pk)
    return render(request, "linking/support_settings.html", {"project": project, "form": form, "error": error})


@permission_required("change_links")
@require_POST
def issue_tracker_create(request, key: str):
    try:
        resolved = selectors.issue_resolve(key, site_id=_int(request.GET.get("site")))
    except selectors.IssueLookupError as exc:
        return render(request, "linking/issue_missing.html", {"key": key, "message": exc.message}, status=exc.status)
    target, project = resolved.target, resolved.project
    decision = issue_access(request.user, target.site, target.issue_id, target.issue_key)
    if not decision.allowed:
        return render(request, "linking/issue_refused.html", {"key": key, "reason": decision.reason}, status=403)
    try:
        with transaction.atomic():
            delivery = tracker.tracker_request(target=target, project=project, user=request.user)
    except services.LinkError as exc:
        messages.error(request, str(exc))
    else:
        if delivery is None:
            messages.info(request, f"{target.issue_key} already has a tracker ticket.")
        else:
            messages.success(request, f"The tracker ticket for {target.issue_key} is being created in Intercom; "
                                      "it appears here once Intercom has it (see the delivery log if not).")
    return redirect("issue_detail", key=target.issue_key)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

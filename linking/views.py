"""Pages for Jira users (issue view, link/unlink), reports, and the admin editors. Thin: services do the work."""

import csv
import re
import uuid
from dataclasses import replace
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import permission_required
from connector.errors import VendorError
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from linking import charts, selectors, services, tracker
from linking.access import issue_access, link_refusal, list_access_notice
from linking.models import ConversationLink, SiteSearchSettings, VisibleFields
from linking.tickets import ticket_card

CARDS_PAGE = 25
TABLE_PAGE = 50
SORT_LABELS = [
    ("linked", "Linked first"),
    ("-linked", "Linked last"),
    ("activity", "Latest activity"),
    ("customer", "Customer"),
    ("state", "State"),
]


def _resolve_or_page(request, key: str):
    try:
        return selectors.issue_resolve(key, site_id=_int(request.GET.get("site"))), None
    except selectors.IssueLookupError as exc:
        page = render(request, "linking/issue_missing.html", {"key": key, "message": exc.message}, status=exc.status)
        return None, page


def _linkable_or_page(request, key: str):
    """The issue when the viewer may see it and its project allows linking; else the page that says why."""
    resolved, page = _resolve_or_page(request, key)
    if page:
        return None, page
    refusal = link_refusal(request.user, resolved, change=True)
    if refusal is None:
        return resolved, None
    if refusal.status == 403:
        return None, render(request, "linking/issue_refused.html", {"key": key, "reason": refusal.reason}, status=403)
    messages.error(request, refusal.reason)
    return None, redirect("issue_detail", key=resolved.target.issue_key)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@permission_required("view_links")
def issue_search(request):
    key = (request.GET.get("key") or "").strip().upper()
    if key:
        return redirect("issue_detail", key=key)
    notice = list_access_notice(request.user)
    try:
        recent = selectors.recent_issues(request.user)
    except VendorError as exc:
        recent, notice = [], _jira_unsure(exc)
    return render(request, "linking/issue_search.html", {"recent": recent, "notice": notice})


def _jira_unsure(exc: VendorError) -> str:
    return (
        f"Jira could not confirm which issues your Jira account may see ({exc}), so none is listed. "
        "Reload the page in a minute; if it keeps failing, an admin can check the Jira connection."
    )


@permission_required("view_links")
def issue_detail(request, key: str):
    resolved, page = _resolve_or_page(request, key)
    if page:
        return page
    target, project = resolved.target, resolved.project
    if target.issue_key and target.issue_key != key.upper():  # the issue moved: show it under its current key
        return redirect("issue_detail", key=target.issue_key)
    decision = issue_access(request.user, target.site, target.issue_id, target.issue_key)
    if not decision.allowed:
        return render(
            request, "linking/issue_refused.html", {"key": target.issue_key, "reason": decision.reason}, status=403
        )
    table = request.GET.get("view") == "table"
    listing = selectors.issue_cards(
        target.site,
        target.issue_id,
        details=project.conversation_view,
        query=request.GET.get("q", ""),
        sort=request.GET.get("sort", "linked"),
        page=_int(request.GET.get("page")) or 1,
        per_page=TABLE_PAGE if table else CARDS_PAGE,
    )
    # Ticket links show the ticket's title and state: read (briefly cached) for the tickets on this page only.
    entries = [
        replace(card, ticket=ticket_card(card.link.workspace, card.link.conversation_id)) if card.link.is_ticket
        else card
        for card in listing.cards
    ]
    can_reply = (
        project.comment_from_jira
        and project.customer_replies_allowed
        and request.user.has_perm("accounts.reply_customer")
    )
    return render(
        request,
        "linking/issue_detail.html",
        {
            "issue": target,
            "project": project,
            "listing": listing,
            "jira": selectors.jira_progress(target.site, target.issue_id, links=listing.total),
            "bulk_max": settings.BULK_LINK_MAX,
            "entries": entries,
            "can_create_tracker": _can_create_tracker(project, target),
            "table": table,
            "sorts": SORT_LABELS,
            "can_change": request.user.has_perm("accounts.change_links") and project.linking_enabled,
            "can_comment": project.comment_from_jira and (request.user.has_perm("accounts.comment_note") or can_reply),
            "can_reply": can_reply,
            # One token per rendered form: posting the same form twice sends the comment once.
            "comment_form_token": uuid.uuid4().hex,
        },
    )


def _can_create_tracker(project, target) -> bool:
    """The project has a tracker ticket type and the issue no tracker in its workspace yet."""
    chosen = tracker.support_settings(project)
    return bool(chosen and chosen.tracker_ticket_type_id) and not tracker.tracker_link(
        target.site.pk, target.issue_id, project.workspace_id
    )


@permission_required("change_links")
@require_POST
def issue_link(request, key: str):
    resolved, page = _linkable_or_page(request, key)
    if page:
        return page
    target, project = resolved.target, resolved.project
    target_type = "ticket" if request.POST.get("target_type") == "ticket" else "conversation"
    try:
        ref = services.conversation_ref_for_workspace(
            request.POST.get("conversation", ""), project.workspace, target_type=target_type
        )
        tracker = bool(request.POST.get("tracker")) and ref.target_type == "ticket"
        with transaction.atomic():
            _, created = services.link_create(
                target=target,
                workspace=project.workspace,
                conversation_id=ref.conversation_id,
                target_type=ref.target_type,
                is_tracker=tracker,
                source="ui",
                user=request.user,
            )
    except services.LinkError as exc:
        messages.error(request, str(exc))
        return redirect("issue_detail", key=target.issue_key)
    what = f"{ref.target_type.capitalize()} {ref.conversation_id}"
    if created:
        messages.success(request, f"{what} is now linked to {target.issue_key}.")
    else:
        messages.info(request, f"{what} was already linked to {target.issue_key}.")
    return redirect("issue_detail", key=target.issue_key)


@permission_required("change_links")
@require_POST
def issue_link_many(request, key: str):
    """The paste-many form: one conversation URL or id per line (or separated by spaces or commas)."""
    resolved, page = _linkable_or_page(request, key)
    if page:
        return page
    target, project = resolved.target, resolved.project
    texts = [text for text in re.split(r"[\s,]+", request.POST.get("conversations", "")) if text]
    if not texts or len(texts) > settings.BULK_LINK_MAX:
        messages.error(request, f"Paste between 1 and {settings.BULK_LINK_MAX} conversation URLs or ids, one per line.")
        return redirect("issue_detail", key=target.issue_key)
    with transaction.atomic():
        items = services.links_create_many(
            target=target, workspace=project.workspace, texts=texts, source="ui", user=request.user
        )
    linked = sum(item.status == "linked" for item in items)
    already = sum(item.status == "already_linked" for item in items)
    errors = [item for item in items if item.status == "error"]
    summary = f"Linked {linked} conversation{pluralize(linked)} to {target.issue_key}"
    if already:
        summary += f"; {already} {pluralize(already, 'was,were')} already linked"
    messages.success(request, summary + ". Jira's remote links and count follow in the background.")
    for item in errors[:10]:
        messages.error(request, f"Line {item.index + 1} ({item.text[:80]}): {item.error}")
    if len(errors) > 10:
        messages.error(request, f"…and {len(errors) - 10} more lines could not be linked.")
    return redirect("issue_detail", key=target.issue_key)


@permission_required("change_links")
@require_POST
def issue_unlink(request, key: str, link_id: int):
    link = get_object_or_404(ConversationLink.objects.select_related("site", "workspace"), pk=link_id)
    decision = issue_access(request.user, link.site, link.issue_id, link.issue_key)
    if not decision.allowed:
        return render(request, "linking/issue_refused.html", {"key": key, "reason": decision.reason}, status=403)
    with transaction.atomic():
        services.link_delete(link=link, user=request.user)
    messages.success(request, f"Conversation {link.conversation_id} is no longer linked to {link.issue_key}.")
    return redirect("issue_detail", key=link.issue_key)


# --- reports ----------------------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(request) -> selectors.ReportFilters:
    return selectors.ReportFilters(
        project=(request.GET.get("project") or "").strip(),
        status=(request.GET.get("status") or "").strip(),
        since=_date(request.GET.get("since")),
        until=_date(request.GET.get("until")),
        by_replies=request.GET.get("sort") == "replies",
    )


@permission_required("export_data")
def reports(request):
    filters = _filters(request)
    notice = list_access_notice(request.user)
    try:
        ranked = selectors.report_ranked_issues(filters, viewer=request.user, limit=200)
    except VendorError as exc:
        ranked, notice = [], _jira_unsure(exc)
    chart = charts.bar_chart([(r.issue_key, r.links) for r in ranked[:10]], title="Linked conversations per issue")
    return render(
        request,
        "linking/reports.html",
        {
            "filters": filters,
            "ranked": ranked,
            "chart": chart,
            "choices": selectors.report_choices(),
            "query": request.GET.urlencode(),
            "notice": notice,
        },
    )


@permission_required("export_data")
def report_csv(request):
    try:
        ranked = selectors.report_ranked_issues(_filters(request), viewer=request.user)
    except VendorError as exc:  # an export that silently missed rows would mislead: refuse it whole
        return HttpResponse(_jira_unsure(exc), status=502, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="linked-conversations.csv"'
    writer = csv.writer(response)
    writer.writerow(["issue", "project", "summary", "status", "linked conversations", "first linked", "last linked"])
    for row in ranked:
        writer.writerow(
            [
                _cell(row.issue_key),
                row.project_key,
                _cell(row.summary),
                _cell(row.status),
                row.links,
                row.first_linked.isoformat(),
                row.last_linked.isoformat(),
            ]
        )
    return response


def _cell(value: str) -> str:
    """Defuse spreadsheet formulas in text that came from Jira."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@permission_required("export_data")
def report_issue_history(request, key: str):
    subject = selectors.link_history_subject(key)
    if subject is None:
        raise Http404("No links were ever made to that issue.")
    site = get_object_or_404(JiraSite, pk=subject[0])
    decision = issue_access(request.user, site, subject[1], key.upper())
    if not decision.allowed:
        context = {"key": key.upper(), "reason": decision.reason}
        return render(request, "linking/issue_refused.html", context, status=403)
    changes = selectors.link_change_list(*subject)
    series = [(change.at, count) for change, count in changes]
    chart = charts.step_chart(series, title=f"Linked conversations of {key.upper()} over time")
    return render(request, "linking/report_issue.html", {"key": key.upper(), "changes": changes, "chart": chart})


# --- admin editors ----------------------------------------------------------------------------------------


@permission_required("manage_connections")
def linking_settings(request):
    return render(
        request,
        "linking/settings.html",
        {
            "workspaces": IntercomWorkspace.objects.order_by("name"),
            "sites": JiraSite.objects.order_by("name"),
            "projects": ProjectConnection.objects.select_related("workspace").order_by("project_key"),
        },
    )


@permission_required("manage_connections")
@require_http_methods(["GET", "POST"])
def visible_fields(request, workspace_id: int):
    workspace = get_object_or_404(IntercomWorkspace, pk=workspace_id)
    available, error = selectors.visible_fields_available(workspace)
    if request.method == "POST":
        picked = {entity: request.POST.getlist(f"{entity}-field") for entity in VisibleFields.Entity.values}
        orders = {
            entity: {path: request.POST.get(f"{entity}-order-{path}") for path in paths}
            for entity, paths in picked.items()
        }
        services.visible_fields_save(workspace=workspace, available=available, picked=picked, orders=orders)
        messages.success(request, f"Saved the fields shown for {workspace.name}.")
        return redirect("visible_fields", workspace_id=workspace.pk)
    entities = selectors.visible_fields_rows(workspace, available)
    context = {"workspace": workspace, "entities": entities, "error": error}
    return render(request, "linking/visible_fields.html", context)


@permission_required("manage_connections")
@require_http_methods(["GET", "POST"])
def search_settings(request, site_id: int):
    site = get_object_or_404(JiraSite, pk=site_id)
    current = selectors.search_settings_for(site)
    number_fields, error = selectors.search_fields_available(site)
    if request.method == "POST" and request.POST.get("create"):
        try:
            saved, note = services.count_field_create(site=site)
        except services.SearchSettingsError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Created “{saved.count_field_name}” ({saved.count_field_id}) in Jira and "
                                      "chose it. Every linked issue's count is being written now.")
            if note:
                messages.warning(request, note)
        return redirect("search_settings", site_id=site.pk)
    if request.method == "POST":
        try:
            services.search_settings_save(
                site=site, field_id=request.POST.get("count_field_id", ""), number_fields=number_fields,
                replies_field_id=request.POST.get("replies_field_id", ""),
            )
        except services.SearchSettingsError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Saved. Every linked issue's count is being written now.")
        return redirect("search_settings", site_id=site.pk)
    return render(
        request,
        "linking/search_settings.html",
        {
            "site": site,
            "current": current,
            "fields": number_fields,
            "error": error,
            "jql_example": _jql_example(current),
        },
    )


def _jql_example(current: SiteSearchSettings | None) -> str:
    name = current.count_field_name if current and current.count_field_id else "Intercom conversations"
    return f'"{name}" > 0 ORDER BY "{name}" DESC'

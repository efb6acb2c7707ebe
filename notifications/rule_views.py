"""The rules pages: ordered lists, the editor with live preview, the dry run and test notes. Thin: forms,
selectors and services do the work."""

from dataclasses import asdict

from django.contrib import messages
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import permission_required
from accounts.audit import audit_record, changes
from connector.models import ProjectConnection
from notifications import selectors, services
from notifications.forms import IssueKeyForm, PreviewForm, RuleForm, TestNoteForm
from notifications.models import NotificationRule, Trigger
from notifications.placeholders import DEFAULT_TEMPLATES, GROUPS
from notifications.rendering import TemplateRenderError, render_note, validate_template


@permission_required("manage_rules")
def rule_list(request):
    return render(
        request,
        "notifications/rules.html",
        {"groups": selectors.rule_groups(), "dry_run_form": IssueKeyForm()},
    )


@require_http_methods(["GET", "POST"])
@permission_required("manage_rules")
def rule_edit(request, pk: int | None = None):
    rule = get_object_or_404(NotificationRule, pk=pk) if pk else None
    initial = {}
    if rule is None and request.GET.get("project"):
        initial["project"] = ProjectConnection.objects.filter(pk=request.GET["project"]).first()
    form = RuleForm(request.POST or None, instance=rule, initial=initial)
    if request.method == "POST" and form.is_valid() and "preview" not in request.POST:
        before = _audited(rule) if rule else {}
        with transaction.atomic():
            saved = form.save(commit=False)
            if rule is None or rule.project_id != (saved.project.pk if saved.project else None):
                saved.position = services.rule_next_position(saved.project)
            saved.save()
            old, new = changes(before, _audited(saved))
            audit_record(actor=request.user, action="rule.update" if rule else "rule.create", target=saved,
                         before=old, after=new, request=request)
        messages.success(request, f"Rule “{saved.name}” saved.")
        for warning in form.warnings:
            messages.warning(request, warning)
        return redirect("rule_edit", pk=saved.pk)
    trigger = (form["trigger"].value() or Trigger.ISSUE_TRANSITIONED) if form.is_bound else form.initial.get("trigger")
    template_text = form["template"].value() or ""
    preview = _preview(template_text, trigger or "", request.POST.get("preview_issue", ""))
    return render(
        request,
        "notifications/rule_edit.html",
        {
            "form": form,
            "rule": rule,
            "preview": preview,
            "groups": GROUPS,
            "defaults": DEFAULT_TEMPLATES,
            "projects_allowing_replies": list(
                ProjectConnection.objects.filter(customer_replies_allowed=True).values_list("pk", flat=True)
            ),
            "test_form": TestNoteForm(),

            "overlaps": _overlaps(rule) if rule is not None and not form.is_bound else [],
            "dry_run_form": IssueKeyForm(),
        },
    )


@require_http_methods(["GET"])
@permission_required("manage_rules")
def rule_choices(request):
    """Statuses, issue types and priorities of one project in Jira, for the editor's pickers (JSON)."""
    raw = request.GET.get("project", "")
    project = ProjectConnection.objects.select_related("site").filter(pk=raw).first() if raw.isdigit() else None
    if project is None:
        return JsonResponse({"detail": "Choose a connected project (its id in ?project=)."}, status=400)
    return JsonResponse(asdict(selectors.jira_choices(project)))


AUDITED_FIELDS = ("name", "enabled", "stop_after", "trigger", "from_status", "to_status", "fields",
                  "comment_visibility", "issue_types", "priorities", "labels", "actions", "template",
                  "coalesce_seconds")


def _audited(rule: NotificationRule) -> dict:
    return {"project": rule.project.project_key if rule.project else "all",
            **{name: getattr(rule, name) for name in AUDITED_FIELDS}}


def _overlaps(rule: NotificationRule) -> list[NotificationRule]:
    fields = ("enabled", "trigger", "from_status", "to_status", "issue_types", "priorities", "labels",
              "comment_visibility", "actions", "project")
    return selectors.rules_overlapping(rule, {name: getattr(rule, name) for name in fields})


def _preview(template_text: str, trigger: str, issue_key: str) -> dict:
    """The rendered note and the template's problems, as shown beside the editor (and sent as JSON)."""
    text = template_text if template_text.strip() else DEFAULT_TEMPLATES.get(trigger, "")
    problems = validate_template(text) if text.strip() else []
    result = {
        "html": "",
        "error": "",
        "source": "",
        "uses_default": not template_text.strip(),
        "problems": [
            {"line": p.line, "message": str(p), "kind": p.kind, "blocking": p.blocking} for p in problems
        ],
    }
    try:
        values = selectors.preview_context(trigger=trigger, issue_key=issue_key)
    except selectors.PreviewError as exc:
        result["error"] = str(exc)
        return result
    result["source"] = values.source
    if any(p.blocking for p in problems):
        result["error"] = "Fix the problems above to see the note."
        return result
    try:
        result["html"] = render_note(text, values.context)
    except TemplateRenderError as exc:
        result["error"] = str(exc)
    return result


@require_POST
@permission_required("manage_rules")
def rule_preview(request):
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "The template is too long.", "problems": [], "html": ""}, status=400)
    data = form.cleaned_data
    return JsonResponse(_preview(data["template"], data["trigger"] or "", data["issue"]))


@require_POST
@permission_required("manage_rules")
def rule_change(request, pk: int, op: str):
    """The small buttons of the rules list: enable, disable, stop after, up, down, delete."""
    rule = get_object_or_404(NotificationRule, pk=pk)
    if op in ("enable", "disable"):
        NotificationRule.objects.filter(pk=pk).update(enabled=op == "enable")
        messages.success(request, f"Rule “{rule.name}” {'enabled' if op == 'enable' else 'disabled'}.")
    elif op in ("stop", "continue"):
        NotificationRule.objects.filter(pk=pk).update(stop_after=op == "stop")
        messages.success(
            request,
            f"After “{rule.name}” matches, later rules are {'not tried' if op == 'stop' else 'tried too'}.",
        )
    elif op in ("up", "down"):
        services.rule_move(rule=rule, direction=op)
    elif op == "delete":
        rule.delete()
        messages.success(request, f"Rule “{rule.name}” deleted. Its past deliveries stay in the log.")
    else:
        messages.error(request, "Unknown change.")
        return redirect(reverse("rules"))
    audit_record(actor=request.user, action=f"rule.{op}", target=rule, request=request)
    return redirect(reverse("rules") + (f"#rule-{pk}" if op != "delete" else ""))


@permission_required("manage_rules")
def rule_dry_run(request):
    form = IssueKeyForm(request.GET or None)
    result = selectors.dry_run(form.cleaned_data["key"]) if form.is_valid() else None
    return render(request, "notifications/dry_run.html", {"form": form, "result": result})


@require_POST
@permission_required("manage_rules")
def rule_test_note(request, pk: int):
    """Render the saved rule's note and send it to one conversation, through the normal delivery path."""
    rule = get_object_or_404(NotificationRule, pk=pk)
    form = TestNoteForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"Test note: {' '.join(errors)}" if field == "__all__" else f"{field}: {errors[0]}")
        return redirect("rule_edit", pk=pk)
    data = form.cleaned_data
    template = rule.template or DEFAULT_TEMPLATES.get(rule.trigger, "")
    try:
        values = selectors.preview_context(trigger=rule.trigger, issue_key=data["issue"])
        body = render_note(template, values.context)
    except (selectors.PreviewError, TemplateRenderError) as exc:
        messages.error(request, f"The test note was not sent: {exc}")
        return redirect("rule_edit", pk=pk)
    delivery = services.test_note_send(
        workspace=data["workspace"], conversation_id=data["conversation_id"], body=body, user=request.user, rule=rule
    )
    messages.success(request, f"Test note queued for conversation {delivery.conversation_id}.")
    return redirect("delivery_detail", pk=delivery.pk)

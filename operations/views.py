"""The admin's front door: the dashboard, the issue explainer, alerts and the audit log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import permission_required
from accounts.audit import audit_record, changes
from connector.models import IntercomWorkspace
from connector.selectors import connection_problems
from linking.charts import bar_chart
from operations import dashboard as board
from operations.alerts import alert_send_test, alert_settings
from operations.explain import delivery_words, explain_issue
from operations.forms import AlertSettingsForm
from operations.models import AlertState


@login_required
def dashboard(request):
    """What needs doing next; each section only for those whose permissions let them act on it."""
    context = {"problems": connection_problems()}
    user = request.user
    if user.has_perm("accounts.manage_connections"):
        context["steps"] = board.setup_checklist()
        context["health"] = board.connection_health()
        context["refused"] = board.refused_webhooks()
    if user.has_perm("accounts.view_operations"):
        glance = board.last_day()
        context["glance"] = glance
        context["chart"] = bar_chart(glance.chart_rows(), title="The last 24 hours", width=520, bar_height=18)
        context["fanouts"] = board.running_fanouts()
    return render(request, "operations/dashboard.html", context)


@permission_required("view_operations")
def explain(request):
    """For an issue key: its recent events, which rules matched or not and why, and what became of each note."""
    key = (request.GET.get("issue") or "").strip()[:64]
    explanation = explain_issue(key) if key else None
    workspaces = IntercomWorkspace.objects.in_bulk() if explanation else {}
    if explanation:
        for event in explanation.events:
            for verdict in event.verdicts:
                verdict.words = [(d, delivery_words(d, workspaces)) for d in verdict.deliveries]
            event.other_words = [(d, delivery_words(d, workspaces)) for d in event.other_deliveries]
    return render(request, "operations/explain.html", {"key": key, "explanation": explanation})


def _alert_values(config) -> dict:
    return {"enabled": config.enabled, "emails": config.email_list, "silence_hours": config.silence_hours,
            "failed_deliveries": config.failed_deliveries, "worker_check": config.worker_check,
            "webhook_url": "set" if config.webhook_url else "not set"}


@permission_required("manage_connections")
@require_http_methods(["GET", "POST"])
def alerts(request):
    """Alert settings, a test alert, and what is open now (and what recovered lately)."""
    config = alert_settings()
    form = AlertSettingsForm(instance=config)
    if request.method == "POST" and request.POST.get("action") == "test":
        failures = alert_send_test(config)
        if failures:
            for failure in failures:
                messages.error(request, failure)
        else:
            messages.success(request, "A test alert was sent to every address and webhook set below.")
        return redirect("alerts")
    if request.method == "POST":
        before = _alert_values(config)
        form = AlertSettingsForm(request.POST, instance=config)
        if form.is_valid():
            saved = form.save()
            old, new = changes(before, _alert_values(saved))
            if old or new:
                audit_record(actor=request.user, action="alerts.update", target=saved, label="Alert settings",
                             before=old, after=new, request=request)
            messages.success(request, "Alert settings saved.")
            return redirect("alerts")
    states = AlertState.objects.order_by("-is_open", "-opened_at")[:50]
    return render(request, "operations/alerts.html",
                  {"form": form, "config": config, "states": states, "webhook_set": bool(config.webhook_url)})

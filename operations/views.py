"""The admin's front door: the dashboard, the issue explainer, alerts and the audit log."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.access import permission_required
from connector.models import IntercomWorkspace
from connector.selectors import connection_problems
from linking.charts import bar_chart
from operations import dashboard as board
from operations.explain import delivery_words, explain_issue


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

"""The events page for admins: recent deliveries, their outcome, the raw payload, reprocess."""

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from rest_framework import generics, serializers

from accounts.access import HasPermission, permission_required
from connector.models import WebhookEvent
from deliveries.models import Delivery
from deliveries.selectors import status_counts
from pipeline.events import webhook_event_reprocess

Status = WebhookEvent.Status
PAGE_SIZE = 50
CAUSED_SHOWN = 100  # a fan-out can be thousands; the delivery log has them all
BULK_LIMIT = 500  # one click re-enqueues at most this many; the page says when more are left
REPROCESSABLE = (Status.FAILED, Status.ANOMALOUS, Status.IGNORED)


class EventFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *WebhookEvent.Source.choices], required=False)
    type = forms.CharField(
        required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "jira:issue_updated"})
    )
    issue = forms.CharField(
        required=False, max_length=64, label="Issue key", widget=forms.TextInput(attrs={"placeholder": "PROJ-123"})
    )
    received_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


def webhook_event_filter(data: dict) -> QuerySet[WebhookEvent]:
    """Events matching the valid filters in `data` (a cleaned EventFilterForm), newest first."""
    events = WebhookEvent.objects.select_related("site", "workspace")
    if data.get("status"):
        events = events.filter(status=data["status"])
    if data.get("source"):
        events = events.filter(source=data["source"])
    if data.get("type"):
        events = events.filter(event_type=data["type"].strip())
    if data.get("issue"):
        events = events.filter(issue_key__iexact=data["issue"].strip())
    if data.get("received_from"):
        events = events.filter(received_at__date__gte=data["received_from"])
    if data.get("received_to"):
        events = events.filter(received_at__date__lte=data["received_to"])
    return events.order_by("-received_at", "-pk")


def event_outcome(event: WebhookEvent) -> str:
    """What happened to the delivery, in words an admin can act on."""
    if event.status == Status.PROCESSED:
        return "Processed."
    if event.status == Status.FAILED:
        return f"Gave up after {event.attempts} attempt(s): {event.error or 'no error recorded'}"
    if event.status in (Status.IGNORED, Status.ANOMALOUS):
        fallback = "Nothing to do for this event." if event.status == Status.IGNORED else "Not understood."
        return event.error or fallback
    if event.attempts and event.error:
        when = f" Next attempt at {event.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC." if event.next_attempt_at else ""
        return f"Attempt {event.attempts} failed: {event.error}.{when}"
    return "Waiting to be processed."


def _filters(request) -> tuple[EventFilterForm, dict]:
    form = EventFilterForm(request.GET or None)
    if not form.is_bound:
        return form, {}
    form.is_valid()  # invalid fields are reported on the form and left out of the query
    return form, getattr(form, "cleaned_data", {})


@require_http_methods(["GET", "POST"])
@permission_required("view_operations")
def event_list(request):
    if request.method == "POST":
        return _reprocess_failed(request)
    form, data = _filters(request)
    page = Paginator(webhook_event_filter(data).defer("payload"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    failed = webhook_event_filter({**data, "status": Status.FAILED})
    failed_count = failed.count() if data.get("status") in ("", None, Status.FAILED) else 0
    return render(
        request,
        "pipeline/events.html",
        {
            "form": form,
            "page": page,
            "rows": [(event, event_outcome(event)) for event in page.object_list],
            "query": query.urlencode(),
            "failed_count": failed_count,
            "can_resend": request.user.has_perm("accounts.resend"),
        },
    )


@permission_required("resend")
def _reprocess_failed(request):
    _, data = _filters(request)  # the filters travel in the query string of the form's action
    ids = list(webhook_event_filter({**data, "status": Status.FAILED}).values_list("pk", flat=True)[:BULK_LIMIT])
    done = sum(webhook_event_reprocess(event_id) for event_id in ids)
    messages.success(request, f"Queued {done} failed event(s) for processing again.")
    if len(ids) == BULK_LIMIT:
        messages.info(request, f"At most {BULK_LIMIT} events are queued per click; more failed events are left.")
    query = request.GET.urlencode()
    return redirect(reverse("events") + (f"?{query}" if query else ""))


@require_http_methods(["GET", "POST"])
@permission_required("view_operations")
def event_detail(request, pk: int):
    if request.method == "POST":
        return _reprocess_one(request, pk)
    event = get_object_or_404(WebhookEvent.objects.select_related("site", "workspace"), pk=pk)
    caused = Delivery.objects.filter(webhook_event=event)
    return render(
        request,
        "pipeline/events_detail.html",
        {
            "event": event,
            "outcome": event_outcome(event),
            "caused": caused.select_related("rule").order_by("pk")[:CAUSED_SHOWN],
            "caused_counts": {k: v for k, v in status_counts(caused).items() if v},
            # Untrusted text: the template escapes it; sorting keys makes two deliveries easy to compare.
            "payload": json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False),
            "can_reprocess": event.status in REPROCESSABLE
            and event.purged_at is None
            and request.user.has_perm("accounts.resend"),
            "retention_days": settings.RETENTION_DAYS,
        },
    )


@permission_required("resend")
def _reprocess_one(request, pk: int):
    event = get_object_or_404(WebhookEvent, pk=pk)
    if webhook_event_reprocess(event.pk):
        messages.success(request, "The event is queued for processing again.")
    else:
        messages.error(
            request, f"Only failed, anomalous or ignored events can be reprocessed; this one is {event.status}."
        )
    return redirect("event_detail", pk=pk)


class WebhookEventSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.name", default=None)
    workspace = serializers.CharField(source="workspace.name", default=None)
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEvent
        fields = [
            "id", "source", "site", "workspace", "delivery_id", "event_type", "issue_id", "issue_key", "status",
            "outcome", "error", "attempts", "retry_header", "received_at", "processed_at", "duration_ms", "purged_at",
        ]

    def get_outcome(self, event: WebhookEvent) -> str:
        return event_outcome(event)


class EventListAPI(generics.ListAPIView):
    """GET /api/events/?status=&source=&type=&issue=&received_from=&received_to= — read-only, paginated."""

    serializer_class = WebhookEventSerializer
    permission_classes = [HasPermission("view_operations")]

    def get_queryset(self):
        form = EventFilterForm(self.request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        return webhook_event_filter(form.cleaned_data).defer("payload")

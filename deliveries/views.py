"""The delivery log: every note and action, filters, fan-out progress, and resend (one, chosen, or all failed)."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import permission_required
from deliveries import selectors, services
from deliveries.forms import DeliveryFilterForm
from deliveries.models import Delivery

PAGE_SIZE = 50
BULK_LIMIT = 1000  # one click resends at most this many; the page says when more are left
REFRESH_SECONDS = 5


def _filters(params) -> tuple[DeliveryFilterForm, dict]:
    form = DeliveryFilterForm(params or None)
    if not form.is_bound:
        return form, {}
    form.is_valid()  # invalid fields are shown on the form and left out of the query
    return form, getattr(form, "cleaned_data", {})


@permission_required("view_operations")
def delivery_list(request):
    form, data = _filters(request.GET)
    rows = selectors.delivery_filter(data)
    page = Paginator(rows.defer("body", "params"), PAGE_SIZE).get_page(request.GET.get("page"))
    fanouts = selectors.fanout_progress(rows)
    counts = selectors.status_counts(rows)
    query = request.GET.copy()
    query.pop("page", None)
    running = any(f.running for f in fanouts) or counts["pending"] + counts["sending"] > 0
    return render(
        request,
        "deliveries/deliveries.html",
        {
            "form": form,
            "page": page,
            "fanouts": fanouts,
            "counts": counts,
            "resendable": sum(counts[s] for s in selectors.RESENDABLE),
            "query": query.urlencode(),
            "issue": (data.get("issue") or "").strip().upper(),
            "can_resend": request.user.has_perm("accounts.resend"),
            "refresh": REFRESH_SECONDS if running and request.GET.get("refresh") != "0" else 0,
            "resendable_statuses": [s.value for s in selectors.RESENDABLE],
        },
    )


@permission_required("view_operations")
def delivery_detail(request, pk: int):
    delivery = get_object_or_404(
        Delivery.objects.select_related("rule", "workspace", "created_by", "webhook_event"), pk=pk
    )
    return render(
        request,
        "deliveries/delivery_detail.html",
        {
            "delivery": delivery,
            "attempt_log": delivery.attempt_log.order_by("at", "pk")[:100],
            "can_resend": request.user.has_perm("accounts.resend")
            and delivery.status in selectors.RESENDABLE
            and delivery.purged_at is None,
            "retention_days": settings.RETENTION_DAYS,
            "refresh": REFRESH_SECONDS if delivery.status in selectors.OPEN_STATUSES else 0,
        },
    )


@require_POST
@permission_required("resend")
def delivery_resend(request):
    """Resend the chosen deliveries (`ids`), or with `all=1` every resendable one matching the filters."""
    _, data = _filters(request.GET)
    if request.POST.get("all"):
        rows = selectors.delivery_filter(data).filter(status__in=selectors.RESENDABLE)
        ids = list(rows.values_list("pk", flat=True)[:BULK_LIMIT])
    else:
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids:
        messages.info(request, "Nothing chosen to resend.")
    else:
        done = services.delivery_resend(ids=ids, requested_by=request.user.get_username())
        messages.success(request, f"{done} deliver{'y' if done == 1 else 'ies'} queued to be sent again.")
        if len(ids) == BULK_LIMIT:
            messages.info(request, f"At most {BULK_LIMIT} are resent per click; more are left.")
    back = request.POST.get("next") or ""
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    query = request.GET.urlencode()
    return redirect(reverse("deliveries") + (f"?{query}" if query else ""))

"""Reads for the people pages."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone


def login_lockout_list():
    """Sign-ins locked out now: one row per account and address that reached the failure limit."""
    locked = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    if settings.AXES_COOLOFF_TIME:  # a lock that has cooled off no longer refuses anyone
        locked = locked.filter(attempt_time__gte=timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME))
    return locked.order_by("-attempt_time")

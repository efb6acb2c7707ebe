"""Sign-ins go into the audit log, so each person's page shows their sign-in history."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.audit import audit_record


@receiver(user_logged_in, dispatch_uid="accounts.sign_in_recorded")
def sign_in_recorded(sender, request, user, **kwargs):
    if request is None:  # the test client's force_login, scripts: no sign-in to record
        return
    audit_record(actor=user, action="person.sign_in", target=user, request=request)

"""Alert settings (one row) and the open/closed state of each alert, which makes alerts deduplicated."""

from django.db import models

from connector.crypto import EncryptedTextField


class AlertSettings(models.Model):
    """Where alerts go. One row (pk 1); the webhook URL is a secret (it carries its own token)."""

    enabled = models.BooleanField(default=True)
    emails = models.TextField(blank=True, help_text="One address per line; sent with Django's mail settings.")
    webhook_url = EncryptedTextField(blank=True)  # Slack-compatible incoming webhook
    silence_hours = models.PositiveIntegerField(
        default=6, help_text="No webhook from a connected Jira site for this many hours raises an alert (0: never)."
    )
    failed_deliveries = models.BooleanField(default=True, help_text="Alert when deliveries fail permanently.")
    worker_check = models.BooleanField(default=True, help_text="Alert when no worker answers.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "alert settings"

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in self.emails.splitlines() if line.strip()]


class AlertState(models.Model):
    """One condition that can be wrong (a connection broken, a site silent, ...): alerted once when it opens,
    and once more when it closes, however often the check runs in between."""

    key = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    is_open = models.BooleanField(default=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # why the last send failed, shown on the alerts page

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.key

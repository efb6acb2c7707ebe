import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from connector.crypto import EncryptedTextField


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    OK = "ok", "Working"
    BROKEN = "broken", "Broken"
    REVOKED = "revoked", "Revoked"


class Connection(models.Model):
    """What every connection to a vendor has: a public id for its webhook URL and a health record."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    health_error = models.TextField(blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def is_usable(self) -> bool:
        return self.health in (Health.OK, Health.UNKNOWN)


class JiraSite(Connection):
    class Deployment(models.TextChoices):
        CLOUD = "cloud", "Jira Cloud"
        DATACENTER = "datacenter", "Jira Data Center"

    base_url = models.URLField(unique=True)
    deployment = models.CharField(max_length=12, choices=Deployment.choices, default=Deployment.CLOUD)
    # Cloud: the app user's email and API token. Data Center: a personal access token in api_token.
    account_email = models.EmailField(blank=True)
    api_token = EncryptedTextField(blank=True)
    webhook_secret = EncryptedTextField(default=new_webhook_secret)
    app_account_id = models.CharField(max_length=128, blank=True)
    app_display_name = models.CharField(max_length=255, blank=True)
    app_avatar_url = models.URLField(blank=True, max_length=500)
    # From /myself when the site was connected: "atlassian" (a person), "app" (a service account), "" on DC.
    app_account_type = models.CharField(max_length=20, blank=True)
    app_email = models.CharField(max_length=255, blank=True)
    webhook_registered_at = models.DateTimeField(null=True, blank=True)
    # Which Jira this is, pinned when it is first verified (Cloud: its cloud id; Data Center: its server title).
    # Links are keyed by issue id, so a new base URL must lead to the same Jira, never to another one.
    jira_instance_id = models.CharField(max_length=255, blank=True)
    # Sign in with Atlassian: the OAuth 2.0 client registered for this site (Cloud: an OAuth 2.0 (3LO) app in
    # Atlassian's developer console; Data Center: an incoming application link). Empty: no such sign-in.
    oauth_client_id = models.CharField(max_length=255, blank=True)
    oauth_client_secret = EncryptedTextField(blank=True)

    @property
    def atlassian_sign_in(self) -> bool:
        return bool(self.oauth_client_id and self.oauth_client_secret)


class JiraUserToken(models.Model):
    """A person's own OAuth 2.0 token for one Jira site, from Sign in with Atlassian: access checks ask Jira
    with it, as that person. Tokens are encrypted at rest and never shown."""

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="user_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jira_tokens")
    account_id = models.CharField(max_length=128)  # Cloud: the Atlassian account id; Data Center: the user key
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Cloud: Atlassian's API gateway for this site (…/ex/jira/<cloud id>); Data Center: the site's base URL.
    api_base_url = models.URLField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "user"], name="uniq_user_token_per_site")]

    def __str__(self) -> str:
        return f"Jira token of {self.user} on {self.site}"


class IntercomWorkspace(Connection):
    class Region(models.TextChoices):
        US = "us", "United States"
        EU = "eu", "Europe"
        AU = "au", "Australia"

    workspace_id = models.CharField(max_length=64, blank=True)  # Intercom app id_code, webhook `app_id`
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.US)
    # Only for the simulators and tests; real workspaces use the region's host.
    api_base_url = models.URLField(blank=True)
    access_token = EncryptedTextField(blank=True)
    client_secret = EncryptedTextField(blank=True)
    app_admin_id = models.CharField(max_length=64, blank=True)  # the teammate that notes are written as
    app_admin_name = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace_id"], condition=~Q(workspace_id=""), name="uniq_workspace_id")
        ]


class ProjectConnection(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="projects")
    project_id = models.CharField(max_length=32)
    project_key = models.CharField(max_length=32)
    project_name = models.CharField(max_length=255, blank=True)
    workspace = models.ForeignKey(IntercomWorkspace, on_delete=models.PROTECT, related_name="projects")
    linking_enabled = models.BooleanField(default=True)
    auto_link_urls = models.BooleanField(default=True)
    comment_from_jira = models.BooleanField(default=True)
    customer_replies_allowed = models.BooleanField(default=False)
    conversation_view = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the periodic check found the app user lacks in this project (Jira permission keys), so the dashboard
    # counts a site that answers but may not comment or transition as a problem, not as "Working".
    missing_permissions = models.JSONField(default=list, blank=True)
    permissions_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "project_id"], name="uniq_project_per_site")]

    def __str__(self) -> str:
        return f"{self.project_key} → {self.workspace}"


class WebhookEvent(models.Model):
    """One inbound delivery, stored before we answer; PostgreSQL is the truth, the broker only a hint."""

    class Source(models.TextChoices):
        JIRA = "jira", "Jira"
        INTERCOM = "intercom", "Intercom"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        ANOMALOUS = "anomalous", "Anomalous"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=10, choices=Source.choices)
    # No index of their own: the unique (site, delivery_id) and (workspace, delivery_id) indexes serve lookups
    # by sender, and every index is paid for on each delivery.
    site = models.ForeignKey(
        JiraSite, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    workspace = models.ForeignKey(
        IntercomWorkspace, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    delivery_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    issue_id = models.CharField(max_length=32, blank=True)
    issue_key = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    retry_header = models.PositiveIntegerField(default=0)  # X-Atlassian-Webhook-Retry: how often Jira retried
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # set after a failed attempt
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # When the payload (comment text, people's names) was emptied after RETENTION_DAYS; the row and outcome stay.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "delivery_id"], condition=Q(site__isnull=False), name="uniq_jira_delivery"
            ),
            models.UniqueConstraint(
                fields=["workspace", "delivery_id"], condition=Q(workspace__isnull=False), name="uniq_intercom_delivery"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="event_status_received"),
            models.Index(fields=["issue_id"], name="event_issue"),
        ]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.event_type} {self.delivery_id}"

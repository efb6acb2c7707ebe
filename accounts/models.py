from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from accounts.permissions import PERMISSIONS


class Access(models.Model):
    """Anchor for the connector's permissions; holds no rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [(p.code, p.label) for p in PERMISSIONS]

    def __str__(self) -> str:
        return "access"


class Role(Group):
    """A named bundle of permissions. A user has one role, or none when given custom permissions."""

    class Meta:
        proxy = True


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # The user's own Jira account: what they may see follows what this account may browse in Jira.
    jira_account_id = models.CharField(max_length=128, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the token is kept; the short prefix lets its owner tell tokens
    apart on the page, and the token itself is shown once, when it is made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEntry(models.Model):
    """One administrative change: who, what, before → after, when. Written by accounts.audit only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept when the actor is deleted
    action = models.CharField(max_length=60, db_index=True)  # dotted: "person.permissions", "rule.update"
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target = models.CharField(max_length=255, blank=True)  # how the target read at the time
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id", "-at"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target}"


class SignInPolicy(models.Model):
    """How people sign in; one row (pk 1), edited on the People page."""

    # Non-admins (anyone who manages neither people nor connections) must use Sign in with Atlassian.
    atlassian_required = models.BooleanField(default=False)
    # Whether Sign in with Atlassian makes an account for a Jira user who has none yet, and with which role.
    create_accounts = models.BooleanField(default=True)
    new_account_role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return "sign-in policy"

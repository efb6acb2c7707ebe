"""Links between Jira issues and Intercom conversations, their history, and what the issue view shows."""

from django.conf import settings
from django.db import models

from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from deliveries.models import TargetType


class ConversationLink(models.Model):
    """One Intercom conversation or ticket linked to one Jira issue, keyed by the issue's stable id.

    A ticket link keeps the ticket's API id (not the inbox number) in `conversation_id`; at most one ticket link
    per issue and workspace is the issue's tracker ticket (`is_tracker`, linking/tracker.py)."""

    class Source(models.TextChoices):
        UI = "ui", "Issue page"
        API = "api", "REST API"
        URL = "url", "URL in the issue"
        INBOX = "inbox", "Intercom Inbox"
        IMPORT = "import", "Import"
        TRACKER = "tracker", "Linked to the tracker ticket in Intercom"

    class Health(models.TextChoices):
        OK = "ok", "Reachable"
        MISSING = "missing", "Deleted in Intercom"

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="links")
    issue_id = models.CharField(max_length=32)
    issue_key = models.CharField(max_length=64, db_index=True)  # current key; kept up to date on moves
    project_key = models.CharField(max_length=32, blank=True)
    workspace = models.ForeignKey(IntercomWorkspace, on_delete=models.CASCADE, related_name="links")
    conversation_id = models.CharField(max_length=32)
    target_type = models.CharField(
        max_length=12, choices=TargetType.choices, default=TargetType.CONVERSATION, db_default=TargetType.CONVERSATION
    )
    is_tracker = models.BooleanField(default=False, db_default=False)
    source = models.CharField(max_length=8, choices=Source.choices)
    # For links made from a URL: "description" or "comment:<id>", so removing that URL only undoes its own link.
    origin = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Links made from the Intercom Inbox: the teammate whose signed request made it (no connector user exists).
    teammate_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    teammate_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    health = models.CharField(max_length=8, choices=Health.choices, default=Health.OK)
    checked_at = models.DateTimeField(null=True, blank=True)
    missing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "issue_id", "workspace", "target_type", "conversation_id"],
                name="uniq_conversation_link",
            ),
            models.UniqueConstraint(
                fields=["site", "issue_id", "workspace"],
                condition=models.Q(is_tracker=True),
                name="uniq_tracker_ticket",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "issue_id"], name="link_issue"),
            models.Index(fields=["workspace", "conversation_id"], name="link_conversation"),
            models.Index(fields=["checked_at"], name="link_checked"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.issue_key} ↔ {self.target_type} {self.conversation_id}"

    @property
    def is_ticket(self) -> bool:
        return self.target_type == TargetType.TICKET

    @property
    def made_by(self) -> str:
        """Who made the link, for people: the connector user, else the Intercom teammate."""
        if self.created_by_id:
            return self.created_by.get_full_name() or self.created_by.username
        return self.teammate_name

    @property
    def global_id(self) -> str:
        """The Jira remote link globalId: stable, so writing it again updates instead of duplicating."""
        return remote_link_global_id(
            self.workspace.workspace_id or str(self.workspace_id), self.conversation_id, self.target_type
        )


def remote_link_global_id(workspace_code: str, conversation_id: str, target_type: str = "conversation") -> str:
    return f"intercom:{workspace_code}:{target_type}:{conversation_id}"


class LinkChange(models.Model):
    """Append-only history of link counts, for the "links over time" report (links themselves get deleted)."""

    class Kind(models.TextChoices):
        ADDED = "added", "Linked"
        REMOVED = "removed", "Unlinked"

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue_id = models.CharField(max_length=32)
    conversation_id = models.CharField(max_length=32)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    by_name = models.CharField(max_length=255, blank=True, default="", db_default="")  # connector user or teammate

    class Meta:
        indexes = [models.Index(fields=["site", "issue_id", "at"], name="linkchange_issue")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.conversation_id} on issue {self.issue_id}"


class IssueSnapshot(models.Model):
    """What reports filter and show about a linked issue (summary, status, project), refreshed from Jira."""

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue_id = models.CharField(max_length=32)
    issue_key = models.CharField(max_length=64)
    project_key = models.CharField(max_length=32, blank=True)
    summary = models.TextField(blank=True)
    status_name = models.CharField(max_length=100, blank=True)
    status_category = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "issue_id"], name="uniq_issue_snapshot")]

    def __str__(self) -> str:
        return self.issue_key


class SiteSearchSettings(models.Model):
    """Which Jira number custom field holds the link count, so JQL can search and sort by it."""

    site = models.OneToOneField(JiraSite, on_delete=models.CASCADE, related_name="search_settings")
    count_field_id = models.CharField(max_length=64, blank=True)
    count_field_name = models.CharField(max_length=255, blank=True)
    # "Most asked about": a number field kept equal to the customer replies since linking (linking/voice.py).
    replies_field_id = models.CharField(max_length=64, blank=True, db_default="")
    replies_field_name = models.CharField(max_length=255, blank=True, db_default="")

    def __str__(self) -> str:
        return f"search settings of {self.site}"


class VisibleFields(models.Model):
    """Per workspace and entity, the ordered attributes the issue view shows. Display only, not access control."""

    class Entity(models.TextChoices):
        CONVERSATION = "conversation", "Conversation"
        CONTACT = "contact", "Contact"
        COMPANY = "company", "Company"

    workspace = models.ForeignKey(IntercomWorkspace, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=12, choices=Entity.choices)
    fields = models.JSONField(default=list)  # attribute paths in display order, e.g. ["name", "custom_attributes.plan"]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "entity"], name="uniq_visible_fields")]

    def __str__(self) -> str:
        return f"{self.entity} fields of {self.workspace}"


class JiraWrite(models.Model):
    """A Jira write (or the read that precedes an auto-link) still to do: the retry record of the linking tasks.

    One row per kind and target, so repeated requests coalesce. The row is deleted once the write is done; a
    retryable failure sets `next_attempt_at` (the sweeper enqueues it then); giving up keeps it as FAILED with
    the error. `requested_at` changes on every new request, so a run that started before it does not delete it.
    """

    class Kind(models.TextChoices):
        REMOTE_LINK_SYNC = "remote_link_sync", "Write the remote link"
        REMOTE_LINK_REMOVE = "remote_link_remove", "Remove the remote link"
        ISSUE_SEARCH_SYNC = "issue_search_sync", "Write the count field and issue property"
        AUTOLINK_RESOLVE = "autolink_resolve", "Read the issue, then auto-link"
        CUSTOMER_VOICE = "customer_voice", "Post the customers' replies as a comment"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FAILED = "failed", "Gave up"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue_id = models.CharField(max_length=32)
    # What on the issue: "" for the issue itself, "<workspace pk>:<conversation id>" for a remote link,
    # "<origin>:<text digest>" for an auto-link.
    target = models.CharField(max_length=128, blank=True)
    workspace = models.ForeignKey(  # remote links: the conversation's workspace
        IntercomWorkspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    conversation_id = models.CharField(max_length=32, blank=True)
    payload = models.JSONField(default=dict, blank=True)  # auto-link: {"text": ..., "origin": ...}
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "site", "issue_id", "target"], name="uniq_jira_write")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="jira_write_due")]

    def __str__(self) -> str:
        return f"{self.kind} on issue {self.issue_id} ({self.status})"


class SupportSettings(models.Model):
    """Per project connection: its tracker tickets and whether customers' replies come back into Jira."""

    class Visibility(models.TextChoices):
        INTERNAL = "internal", "Internal (Jira Service Management: not shared with the customer)"
        ROLE = "role", "Restricted to a project role"
        GROUP = "group", "Restricted to a group"

    project = models.OneToOneField(ProjectConnection, on_delete=models.CASCADE, related_name="support_settings")
    # Tracker tickets: off while no ticket type is chosen. "Automatic" creates one when an issue gets its first link.
    tracker_ticket_type_id = models.CharField(max_length=32, blank=True)
    tracker_auto_create = models.BooleanField(default=False)
    # Intercom's API creates a ticket for a contact; Intercom makes one with this address if it does not exist.
    # Empty: a tracker made automatically is for the customer of the conversation that asked for it.
    tracker_contact_email = models.EmailField(blank=True)
    # The ticket attribute that holds the Jira key (the tracker's and, with a rule action, other tickets').
    jira_key_attribute = models.CharField(max_length=100, blank=True, default="Jira key")
    # The customer's voice: each customer reply in a linked conversation becomes (part of) one Jira comment.
    voice_enabled = models.BooleanField(default=False)
    voice_visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL)
    voice_visibility_value = models.CharField(max_length=255, blank=True)  # role or group name
    voice_window_seconds = models.PositiveIntegerField(default=300)

    def __str__(self) -> str:
        return f"support settings of {self.project}"


class CustomerReply(models.Model):
    """A customer's reply in a linked conversation, for one linked issue: once per Intercom part (a redelivered
    webhook adds nothing), posted to Jira in a coalesced comment, and counted ("most asked about")."""

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue_id = models.CharField(max_length=32)
    issue_key = models.CharField(max_length=64)
    workspace = models.ForeignKey(IntercomWorkspace, on_delete=models.CASCADE, related_name="+")
    conversation_id = models.CharField(max_length=32)
    part_id = models.CharField(max_length=64)
    author_name = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)  # plain text
    received_at = models.DateTimeField(auto_now_add=True)
    comment_id = models.CharField(max_length=64, blank=True)  # the Jira comment it went out in
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "issue_id", "workspace", "conversation_id", "part_id"], name="uniq_customer_reply"
            )
        ]
        indexes = [models.Index(fields=["site", "issue_id", "posted_at"], name="customer_reply_issue")]
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"reply {self.part_id} in {self.conversation_id} for {self.issue_key}"


class ConversationSnapshot(models.Model):
    """What a conversation card shows, stored so the issue view never waits for Intercom.

    Written by Intercom webhooks (the conversation they carry) and by the background refresh (conversation,
    first contact, that contact's first company), which only reads with rate-limit budget notes do not need.
    `fetched_at` is NULL until the first read; `wanted_at` says a refresh is asked for (new link, webhook).
    """

    class Problem(models.TextChoices):
        NONE = "", "None"
        DELETED = "deleted", "Deleted in Intercom"
        UNREACHABLE = "unreachable", "Unreachable"

    workspace = models.ForeignKey(IntercomWorkspace, on_delete=models.CASCADE, related_name="+")
    conversation_id = models.CharField(max_length=32)
    conversation = models.JSONField(default=dict, blank=True)
    contact = models.JSONField(default=dict, blank=True)
    company = models.JSONField(default=dict, blank=True)
    assignee_name = models.CharField(max_length=255, blank=True)
    # Denormalised for the table mode's search and sort.
    state = models.CharField(max_length=16, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    customer = models.CharField(max_length=255, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=12, choices=Problem.choices, blank=True)
    message = models.CharField(max_length=500, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    wanted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "conversation_id"], name="uniq_conversation_snapshot")
        ]
        indexes = [
            models.Index(fields=["wanted_at"], name="snapshot_wanted"),
            models.Index(fields=["fetched_at"], name="snapshot_fetched"),
        ]

    def __str__(self) -> str:
        return f"snapshot of conversation {self.conversation_id}"

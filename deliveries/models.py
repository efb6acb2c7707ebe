"""The deliveries the engine sends: one action into one Intercom conversation, and the vocabulary of actions."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from connector.models import IntercomWorkspace, WebhookEvent


class Action(models.TextChoices):
    NOTE = "note", "Internal note"
    REPLY = "reply", "Customer-visible reply"
    REOPEN = "reopen", "Reopen if closed"
    CLOSE = "close", "Close"
    SNOOZE = "snooze", "Snooze"
    ASSIGN = "assign", "Assign"
    TAG = "tag", "Add a tag"
    TICKET_STATE = "ticket_state", "Set the ticket state"
    TICKET_ATTRIBUTE = "ticket_attribute", "Set a ticket attribute"
    # Tracker tickets (one per issue, linking.tracker): created and kept in step by the connector, not by rules.
    TRACKER_CREATE = "tracker_create", "Create the tracker ticket"
    TRACKER_SYNC = "tracker_sync", "Keep the tracker ticket in step"


# What rules may ask for; the tracker actions are planned by the connector itself.
RULE_ACTIONS = [a for a in Action.values if a not in (Action.TRACKER_CREATE, Action.TRACKER_SYNC)]
TICKET_ONLY = {Action.TICKET_STATE, Action.TICKET_ATTRIBUTE, Action.TRACKER_CREATE, Action.TRACKER_SYNC}


class TargetType(models.TextChoices):
    """What a link (and so a delivery) points at in Intercom: a conversation or a ticket (API 2.14)."""

    CONVERSATION = "conversation", "Conversation"
    TICKET = "ticket", "Ticket"


class Delivery(models.Model):
    """One action in one conversation or ticket for one cause; the row is the truth, the broker only a hint.

    `conversation_id` holds the ticket's id when `target_type` is ticket (a tracker still to be created has
    "new:<issue id>")."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        HELD = "held", "Held (connection broken)"
        SKIPPED = "skipped", "Skipped"

    class Source(models.TextChoices):
        RULE = "rule", "Rule"
        COMMENT = "comment", "Comment from Jira user"
        TEST = "test", "Test note"
        TRACKER = "tracker", "Tracker ticket"

    idempotency_key = models.CharField(max_length=255, unique=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.RULE)
    webhook_event = models.ForeignKey(WebhookEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # By name: rules sit above deliveries (notifications plans, deliveries sends).
    rule = models.ForeignKey(
        "notifications.NotificationRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    workspace = models.ForeignKey(IntercomWorkspace, on_delete=models.CASCADE, related_name="deliveries")
    conversation_id = models.CharField(max_length=64)
    target_type = models.CharField(
        max_length=12, choices=TargetType.choices, default=TargetType.CONVERSATION, db_default=TargetType.CONVERSATION
    )
    issue_id = models.CharField(max_length=32, blank=True)
    issue_key = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    params = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)  # rendered, sanitised HTML
    purged_at = models.DateTimeField(null=True, blank=True)  # when the body was emptied after RETENTION_DAYS
    # Events for the same rule, issue and conversation inside the rule's window are sent as one note.
    coalesce_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Set after an ambiguous outcome (timeout, killed worker): read the conversation before any resend.
    verify = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    part_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Who asked for it when that is not a connector user: the Intercom teammate who linked from the Inbox. A
    # database default, so rows planned with INSERT … SELECT (delivery_create_for_links) need not name it.
    requested_by_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notifications_delivery"  # kept from before the engine had an app of its own
        indexes = [
            # In the claim's order, so it reads due rows until it has enough instead of sorting them all.
            models.Index(
                fields=["workspace", "next_attempt_at", "id"], condition=Q(status="pending"), name="delivery_due"
            ),
            # The claim's check that nothing earlier into the same conversation is still to go out.
            models.Index(
                fields=["workspace", "conversation_id", "created_at", "id"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_conversation_queue",
            ),
            models.Index(fields=["status", "claimed_at"], name="delivery_status_claimed"),
            models.Index(fields=["issue_id"], name="delivery_issue"),
            models.Index(fields=["webhook_event", "rule"], name="delivery_fanout"),
            models.Index(fields=["-created_at"], name="delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} → {self.conversation_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One call (or verification) made for a delivery: a resend or a retry leaves its own trace."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Delivery.Status.choices)  # the status it left the row in
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # Intercom's answer, when there was one
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "at", "pk"]
        indexes = [models.Index(fields=["delivery", "at"], name="delivery_attempt_at")]

    def __str__(self) -> str:
        return f"attempt on delivery {self.delivery_id}: {self.outcome}"

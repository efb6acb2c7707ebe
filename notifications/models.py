from django.db import models

from connector.models import ProjectConnection


class Trigger(models.TextChoices):
    ISSUE_TRANSITIONED = "issue_transitioned", "Issue transitioned"
    ASSIGNEE_CHANGED = "assignee_changed", "Assignee changed"
    COMMENT_CREATED = "comment_created", "Comment added"
    FIELDS_CHANGED = "fields_changed", "Fields changed"
    ISSUE_CREATED = "issue_created", "Issue created (with links)"
    ISSUE_DELETED = "issue_deleted", "Issue deleted"
    CONVERSATION_LINKED = "conversation_linked", "Conversation linked"
    CONVERSATION_UNLINKED = "conversation_unlinked", "Conversation unlinked"


class NotificationRule(models.Model):
    """When <trigger> happens on an issue and the conditions hold, do <actions> in each linked conversation.

    `project` empty means every project. Conditions left empty mean "any". Status conditions accept a status
    id ("10001"), a name ("In Progress", any case) or a category ("category:done").
    `actions` is a list of {"type": Action, ...options}: snooze {"seconds": n} or {"until": iso date}, assign
    {"assignee_id", "assignee_type": admin|team}, tag {"tag_id"}, reopen {"unassign": bool}.
    """

    project = models.ForeignKey(
        ProjectConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    stop_after = models.BooleanField(default=False, help_text="Don't try later rules when this one matches.")
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    from_status = models.CharField(max_length=100, blank=True)
    to_status = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(default=list, blank=True)  # for fields_changed: field names or ids
    comment_visibility = models.JSONField(default=list, blank=True)  # public / internal / restricted; [] = public
    issue_types = models.JSONField(default=list, blank=True)
    priorities = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=list, blank=True)  # any of these
    actions = models.JSONField(default=list)
    template = models.TextField(blank=True)
    coalesce_seconds = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def action_types(self) -> list[str]:
        return [a.get("type") for a in self.actions if isinstance(a, dict)]

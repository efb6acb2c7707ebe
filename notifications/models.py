from itertools import groupby

from django.db import models

from connector.models import ProjectConnection


def detach_rules(collector, field, sub_objs, using):
    """on_delete of NotificationRule.project: disconnecting a project keeps its rules. They are detached (no
    project, yet never "every project": see `NotificationRule.in_all_projects`) and remember the site and the
    Jira project, so that connecting that project again brings them back (notifications.receivers)."""
    rules = sorted(sub_objs, key=lambda rule: rule.project_id)
    projects = ProjectConnection.objects.using(using).in_bulk({rule.project_id for rule in rules})
    meta = field.model._meta
    collector.add_field_update(field, None, rules)
    for project_pk, grouped in groupby(rules, key=lambda rule: rule.project_id):
        project, members = projects[project_pk], list(grouped)
        collector.add_field_update(meta.get_field("detached_site_id"), project.site_id, members)
        collector.add_field_update(meta.get_field("detached_project_id"), project.project_id, members)
        collector.add_field_update(meta.get_field("detached_project_key"), project.project_key, members)


class Trigger(models.TextChoices):
    ISSUE_TRANSITIONED = "issue_transitioned", "Issue transitioned"
    ASSIGNEE_CHANGED = "assignee_changed", "Assignee changed"
    COMMENT_CREATED = "comment_created", "Comment added"
    FIELDS_CHANGED = "fields_changed", "Fields changed"
    ISSUE_CREATED = "issue_created", "Issue created (with links)"
    ISSUE_DELETED = "issue_deleted", "Issue deleted"
    CONVERSATION_LINKED = "conversation_linked", "Conversation linked"
    CONVERSATION_UNLINKED = "conversation_unlinked", "Conversation unlinked"


# The rules "for every project": no project, and not kept from a disconnected one.
IN_ALL_PROJECTS = models.Q(project__isnull=True, detached_project_id="")


class NotificationRule(models.Model):
    """When <trigger> happens on an issue and the conditions hold, do <actions> in each linked conversation.

    `project` empty means every project. Conditions left empty mean "any". Status conditions accept a status
    id ("10001"), a name ("In Progress", any case) or a category ("category:done").
    `actions` is a list of {"type": Action, ...options}: snooze {"seconds": n} or {"until": iso date}, assign
    {"assignee_id", "assignee_type": admin|team}, tag {"tag_id"}, reopen {"unassign": bool}.
    """

    project = models.ForeignKey(ProjectConnection, null=True, blank=True, on_delete=detach_rules, related_name="rules")
    # Set while the rule's project is disconnected (project is then empty): which site and Jira project it
    # belongs to. A plain id, not a key: a deleted site must not take kept rules with it.
    detached_site_id = models.PositiveIntegerField(null=True, blank=True)
    detached_project_id = models.CharField(max_length=32, blank=True)
    detached_project_key = models.CharField(max_length=32, blank=True)
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
    def is_detached(self) -> bool:
        return self.project_id is None and bool(self.detached_project_id)

    @property
    def action_types(self) -> list[str]:
        return [a.get("type") for a in self.actions if isinstance(a, dict)]

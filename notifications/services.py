"""Writes behind the rules pages: reorder rules, send a test note (through the delivery engine)."""

from __future__ import annotations

import uuid

from django.db import transaction

from connector.jira_markup import sanitize_note_html
from connector.models import IntercomWorkspace, ProjectConnection
from deliveries.models import Action, Delivery
from deliveries.services import delivery_create
from notifications.models import IN_ALL_PROJECTS, NotificationRule
from notifications.selectors import rule_scope

# --- rules -----------------------------------------------------------------------------------------------


@transaction.atomic
def rule_move(*, rule: NotificationRule, direction: str) -> bool:
    """Swap the rule with its neighbour in its list ("up" or "down"); renumbers the list 0..n on the way."""
    siblings = list(rule_scope(rule).select_for_update().order_by("position", "id"))
    index = next(i for i, r in enumerate(siblings) if r.pk == rule.pk)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= target < len(siblings):
        return False
    siblings[index], siblings[target] = siblings[target], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            NotificationRule.objects.filter(pk=sibling.pk).update(position=position)
    return True


def rule_next_position(project: ProjectConnection | None) -> int:
    rules = NotificationRule.objects
    scope = rules.filter(project=project) if project else rules.filter(IN_ALL_PROJECTS)
    last = scope.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


# --- test note -------------------------------------------------------------------------------------------


def rule_reattach(*, project: ProjectConnection) -> int:
    """A project connected again takes back the rules kept when it was disconnected; how many came back."""
    return NotificationRule.objects.filter(
        project__isnull=True, detached_site_id=project.site_id, detached_project_id=project.project_id
    ).update(project=project, detached_site_id=None, detached_project_id="", detached_project_key="")


@transaction.atomic
def test_note_send(
    *, workspace: IntercomWorkspace, conversation_id: str, body: str, user=None, rule: NotificationRule | None = None
) -> Delivery:
    """One note into one conversation, through the normal delivery path (limits, retries, the log)."""
    delivery, _ = delivery_create(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        source=Delivery.Source.TEST,
        rule=rule,
        workspace_id=workspace.pk,
        conversation_id=conversation_id.strip(),
        action=Action.NOTE,
        body=sanitize_note_html(body),
        created_by=user,
    )
    return delivery

"""Signal receivers: a link made or removed becomes a planned "conversation linked / unlinked" note (enqueued); a
project connected again takes back its kept rules."""

import logging

from django.db.models.signals import post_save
from django.dispatch import receiver

from connector.models import ProjectConnection
from linking.signals import link_created, link_removed, links_created
from notifications.services import rule_reattach
from notifications.tasks import link_event_plan, link_events_plan

logger = logging.getLogger(__name__)


def _link_fields(link) -> dict:
    return {
        "site_id": link.site_id,
        "issue_id": link.issue_id,
        "issue_key": link.issue_key,
        "workspace_id": link.workspace_id,
        "conversation_id": link.conversation_id,
        "target_type": link.target_type,
        "link_id": link.pk,
    }


def _actor(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _enqueue_link_event(kind: str, link, user, teammate_name: str) -> None:
    try:
        link_event_plan.delay(kind, _link_fields(link), _actor(user) or teammate_name, teammate_name)
    except Exception:
        logger.warning("link_event.enqueue_failed", extra={"link_id": link.pk})


@receiver(link_created)
def plan_linked_note(sender, link, user=None, teammate_name="", **kwargs):
    _enqueue_link_event("conversation_linked", link, user, teammate_name)


@receiver(links_created)
def plan_linked_notes(sender, links, user=None, **kwargs):
    """Bulk linking: one task plans the notes of every link, instead of a task per link on the webhooks queue."""
    try:
        link_events_plan.delay("conversation_linked", [_link_fields(link) for link in links], _actor(user))
    except Exception:
        logger.warning("link_event.enqueue_failed", extra={"links": len(links)})


@receiver(link_removed)
def plan_unlinked_note(sender, link, user=None, reason="", teammate_name="", **kwargs):
    if reason == "issue_deleted":  # the issue_deleted rule speaks for that case
        return
    _enqueue_link_event("conversation_unlinked", link, user, teammate_name)


@receiver(post_save, sender=ProjectConnection)
def reattach_kept_rules(sender, instance, created, **kwargs):
    """Not enqueued, unlike the others: one UPDATE in the transaction that connects the project, so its rules are
    back the moment it is (the form, the API and import_config all create project connections)."""
    if created:
        rule_reattach(project=instance)

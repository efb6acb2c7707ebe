"""Linking's receivers: they only enqueue linking's tasks (by name, as services do).

- a tracker ticket the engine created (deliveries.signals.ticket_created) is linked to its issue;
- an issue's new link may call for its tracker ticket (projects that create trackers automatically).
"""

import logging

from django.dispatch import receiver

from deliveries.signals import ticket_created
from linking.models import ConversationLink, SupportSettings
from linking.services import task_send
from linking.signals import link_created

logger = logging.getLogger(__name__)


@receiver(ticket_created)
def adopt_tracker(sender, delivery_id, ticket_id, **kwargs):
    task_send("linking.tasks.tracker_adopt", delivery_id, ticket_id)


@receiver(link_created)
def create_tracker_when_wanted(sender, link, **kwargs):
    if link.is_tracker or link.source == ConversationLink.Source.TRACKER:
        return
    wanted = SupportSettings.objects.filter(
        project__workspace_id=link.workspace_id, project__site_id=link.site_id, project__project_key=link.project_key,
        tracker_auto_create=True,
    ).exclude(tracker_ticket_type_id="")
    if not wanted.exists():
        return
    try:
        task_send("linking.tasks.tracker_auto_create", link.pk)
    except Exception:  # the link stands; the tracker can be asked for from the issue page
        logger.warning("linking.tracker_enqueue_failed", extra={"link_id": link.pk})

"""Tracker tickets: at most one Intercom tracker ticket per Jira issue and workspace, created by the connector
(a TRACKER_CREATE delivery: exactly once, within the workspace's rate limit) or linked by hand (the links API
and the issue page, `tracker`), kept in step with the issue by notifications.planning (title, state, Jira key
attribute; a resolved issue resolves it), and a source of links: the conversations and customer tickets
linked to the tracker in Intercom show up as linked to the issue (`tracker_refresh`, periodic in beat).
"""

import logging

from django.db import transaction

from connector.errors import VendorError, VendorErrorKind
from connector.models import JiraSite, ProjectConnection
from deliveries.models import Action, Delivery, TargetType
from deliveries.services import delivery_create
from linking import intercom_reads, services, snapshots
from linking.models import ConversationLink, IssueSnapshot, SupportSettings
from linking.services import IssueTarget, LinkError

logger = logging.getLogger(__name__)
READ_WAIT_SECONDS = 30.0


def support_settings(project: ProjectConnection | None) -> SupportSettings | None:
    if project is None:
        return None
    return SupportSettings.objects.filter(project=project).first()


def tracker_link(site_id: int, issue_id: str, workspace_id: int | None = None) -> ConversationLink | None:
    links = ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id, is_tracker=True)
    if workspace_id:
        links = links.filter(workspace_id=workspace_id)
    return links.select_related("workspace", "site").first()


def tracker_links_of(site_id: int, issue_id: str) -> list[ConversationLink]:
    return list(ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id, is_tracker=True))


def tracker_request(
    *, target: IssueTarget, project: ProjectConnection, user=None, contact: dict | None = None
) -> Delivery | None:
    """Ask the engine to create the issue's tracker ticket (once per issue and workspace, whatever is asked
    again). None when the issue has a tracker already. Raises LinkError when the project has no tracker type or
    no contact to create it for (`contact`: {"id": …}, else the project's tracker contact email)."""
    chosen = support_settings(project)
    if chosen is None or not chosen.tracker_ticket_type_id:
        raise LinkError(
            f"Project {project.project_key} has no tracker ticket type: choose one on its support settings page."
        )
    if tracker_link(target.site.pk, target.issue_id, project.workspace_id):
        return None
    contact = contact or ({"email": chosen.tracker_contact_email} if chosen.tracker_contact_email else None)
    if contact is None:
        raise LinkError(
            "Intercom creates a ticket for a contact: set the tracker contact email on the project's support "
            "settings page."
        )
    browse = f"{target.site.base_url.rstrip('/')}/browse/{target.issue_key}"
    delivery, _ = delivery_create(
        idempotency_key=f"tracker-create:{target.site.pk}:{target.issue_id}:{project.workspace_id}",
        source=Delivery.Source.TRACKER,
        workspace=project.workspace,
        conversation_id=f"new:{target.issue_id}",
        target_type=TargetType.TICKET,
        issue_id=target.issue_id,
        issue_key=target.issue_key,
        action=Action.TRACKER_CREATE,
        params={
            "ticket_type_id": chosen.tracker_ticket_type_id,
            "title": target.summary,
            "description": f"Jira issue {target.issue_key}: {browse}",
            "key_attribute": chosen.jira_key_attribute,
            "contact": contact,
            "site_id": target.site.pk,
            "project_key": target.project_key or project.project_key,
        },
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    return delivery


def tracker_auto_create(link: ConversationLink) -> Delivery | None:
    """An issue got a link: create its tracker if the project wants one made automatically."""
    if link.is_tracker or link.source == ConversationLink.Source.TRACKER:
        return None
    project = link.workspace.projects.filter(site_id=link.site_id, project_key=link.project_key).first()
    chosen = support_settings(project)
    if chosen is None or not (chosen.tracker_auto_create and chosen.tracker_ticket_type_id):
        return None
    if tracker_link(link.site_id, link.issue_id, link.workspace_id):
        return None
    snapshot = IssueSnapshot.objects.filter(site_id=link.site_id, issue_id=link.issue_id).first()
    target = IssueTarget(
        site=link.site, issue_id=link.issue_id, issue_key=link.issue_key, project_key=link.project_key,
        summary=snapshot.summary if snapshot else "",
    )
    contact = None
    if not chosen.tracker_contact_email and not link.is_ticket:  # the customer who asked, as Intercom needs one
        stored = snapshots.snapshot_for(link.workspace, link.conversation_id)
        customer = (stored.contact if stored else None) or {}
        if not customer.get("id"):
            try:
                conversation = intercom_reads.read(
                    link.workspace, lambda c: c.conversation(link.conversation_id), max_wait=READ_WAIT_SECONDS
                )
            except VendorError as exc:  # the next link asks again; the issue page offers the button meanwhile
                logger.warning("linking.tracker_not_created", extra={"link_id": link.pk, "reason": str(exc)})
                return None
            customer = (((conversation.get("contacts") or {}).get("contacts")) or [{}])[0]
        contact = {"id": str(customer["id"])} if customer.get("id") else None
    try:
        with transaction.atomic():
            return tracker_request(target=target, project=project, contact=contact)
    except LinkError as exc:
        logger.warning("linking.tracker_not_created", extra={"link_id": link.pk, "reason": str(exc)})
        return None


def tracker_adopt(*, delivery_id: int, ticket_id: str) -> ConversationLink | None:
    """The engine created a tracker ticket: link it to its issue as the tracker."""
    delivery = Delivery.objects.select_related("workspace").filter(pk=delivery_id).first()
    if delivery is None or not ticket_id:
        return None
    site = JiraSite.objects.filter(pk=(delivery.params or {}).get("site_id")).first()
    if site is None:
        return None
    target = IssueTarget(
        site=site, issue_id=delivery.issue_id, issue_key=delivery.issue_key,
        project_key=(delivery.params or {}).get("project_key", ""),
    )
    with transaction.atomic():
        try:
            link, _ = services.link_create(
                target=target, workspace=delivery.workspace, conversation_id=ticket_id,
                target_type=TargetType.TICKET, is_tracker=True, source=ConversationLink.Source.TRACKER,
                origin="created", user=delivery.created_by,
            )
        except LinkError:  # a tracker was linked by hand meanwhile: keep that one, link this one plainly
            link, _ = services.link_create(
                target=target, workspace=delivery.workspace, conversation_id=ticket_id,
                target_type=TargetType.TICKET, source=ConversationLink.Source.TRACKER, origin="created",
            )
    return link


def tracker_refresh(link: ConversationLink) -> dict:
    """Mirror the tracker's linked conversations and customer tickets as links of its issue: new ones are
    linked (source "tracker"), ones unlinked in Intercom are unlinked here (only those this mirror made)."""
    try:
        ticket = intercom_reads.read(link.workspace, lambda c: c.ticket(link.conversation_id),
                                     max_wait=READ_WAIT_SECONDS)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return {"missing": 1}
        raise
    objects = ((ticket.get("linked_objects") or {}).get("data")) or []
    wanted = {
        (str(o.get("type")), str(o.get("id")))
        for o in objects
        if o.get("type") in TargetType.values and o.get("id") and o.get("category") != "Tracker"
    }
    origin = f"tracker:{link.conversation_id}"
    target = IssueTarget(site=link.site, issue_id=link.issue_id, issue_key=link.issue_key,
                         project_key=link.project_key)
    result = {"linked": 0, "unlinked": 0}
    with transaction.atomic():
        for target_type, object_id in sorted(wanted):
            _, created = services.link_create(
                target=target, workspace=link.workspace, conversation_id=object_id, target_type=target_type,
                source=ConversationLink.Source.TRACKER, origin=origin,
            )
            result["linked"] += int(created)
        mirrored = ConversationLink.objects.filter(
            site_id=link.site_id, issue_id=link.issue_id, workspace_id=link.workspace_id, origin=origin
        )
        for gone in mirrored:
            if (gone.target_type, gone.conversation_id) not in wanted:
                result["unlinked"] += int(services.link_delete(link=gone, reason="tracker_unlinked"))
    return result


def tracker_links() -> list[int]:
    return list(ConversationLink.objects.filter(is_tracker=True).order_by("id").values_list("pk", flat=True))

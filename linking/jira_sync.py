"""What the connector writes on the Jira issue: one remote link per conversation, the count field and the
issue property with the linked ids. Called from tasks only (vendor calls never run in a request)."""

import json

from connector.jira_client import JiraClient
from connector.models import JiraSite
from deliveries.models import TargetType
from linking import intercom_reads
from linking.conversation_urls import conversation_web_url
from linking.models import ConversationLink, CustomerReply, SiteSearchSettings
from linking.snapshots import ConversationBundle, customer_name, subject_text

PROPERTY_KEY = "jira-intercom-connector.links"
PROPERTY_MAX_ENTRIES = 500  # more never fit in PROPERTY_MAX_BYTES
ICON_URL = "https://static.intercomassets.com/assets/favicon-32x32.png"


def remote_link_title(link: ConversationLink, bundle: ConversationBundle, *, details: bool = True) -> str:
    """The customer's name and the subject, unless the project turned the conversation view off."""
    customer, subject = (customer_name(bundle), subject_text(bundle)) if details else ("", "")
    title = " — ".join(part for part in (customer, subject) if part) or f"Conversation {link.conversation_id}"
    return f"Intercom: {title}"[:250]


def remote_link_write(
    client: JiraClient, link: ConversationLink, bundle: ConversationBundle, *, details: bool = True
) -> None:
    workspace = link.workspace
    url = conversation_web_url(
        app_id=workspace.workspace_id or "", region=workspace.region, conversation_id=link.conversation_id
    )
    state = bundle.state or ("deleted" if bundle.problem == "deleted" else "")
    client.upsert_remote_link(
        link.issue_id,
        global_id=link.global_id,
        url=url,
        title=remote_link_title(link, bundle, details=details),
        summary=f"Conversation {link.conversation_id}" + (f" · {state}" if state else ""),
        resolved=bundle.is_closed,
        icon_url=ICON_URL,
    )


def ticket_remote_link_write(client: JiraClient, link: ConversationLink) -> None:
    """A ticket's remote link: its title and state; struck through once resolved. Reads the ticket (Intercom)."""
    workspace = link.workspace
    ticket = intercom_reads.read(workspace, lambda c: c.ticket(link.conversation_id), max_wait=30.0)
    state = (ticket.get("ticket_state") or {})
    title = str((ticket.get("ticket_attributes") or {}).get("_default_title_") or f"Ticket {link.conversation_id}")
    kind = "Tracker ticket" if link.is_tracker else f"{ticket.get('category') or 'Customer'} ticket"
    client.upsert_remote_link(
        link.issue_id,
        global_id=link.global_id,
        url=conversation_web_url(
            app_id=workspace.workspace_id or "", region=workspace.region, conversation_id=link.conversation_id,
            target_type=TargetType.TICKET,
        ),
        title=f"Intercom: {title}"[:250],
        summary=f"{kind} #{ticket.get('ticket_id') or link.conversation_id} · {state.get('external_label') or ''}",
        resolved=state.get("category") == "resolved",
        icon_url=ICON_URL,
    )


PROPERTY_MAX_BYTES = 32_768  # Jira refuses longer issue property values (400)


def issue_search_values(site: JiraSite, issue_id: str) -> tuple[int, dict]:
    """The count (reachable links only) and the property value, from the database as it is now.

    The property holds the count, the customer replies, and the most recently linked conversations and tickets
    that fit in Jira's 32,768 bytes (oldest first), with `truncated` when older ones were left out; the count
    field carries the number.
    """
    links = ConversationLink.objects.filter(site=site, issue_id=issue_id, health=ConversationLink.Health.OK)
    count = links.count()
    recent = list(
        links.order_by("-created_at", "-id").values_list(
            "workspace__workspace_id", "conversation_id", "target_type", "is_tracker"
        )[:PROPERTY_MAX_ENTRIES]
    )
    replies = CustomerReply.objects.filter(site=site, issue_id=issue_id).count()
    kept = len(recent)
    while True:
        shown = list(reversed(recent[:kept]))
        conversations = [(w, c) for w, c, kind, _ in shown if kind != TargetType.TICKET]
        value = {
            "count": count,
            "truncated": kept < count,
            "conversationIds": [c for _, c in conversations],
            "conversations": [{"workspaceId": w, "id": c} for w, c in conversations],
            "tickets": [
                {"workspaceId": w, "id": c, "tracker": tracker} for w, c, kind, tracker in shown
                if kind == TargetType.TICKET
            ],
            # "Most asked about": the customers' replies in linked conversations since they were linked.
            "customerReplies": replies,
        }
        size = len(json.dumps(value).encode())
        if size <= PROPERTY_MAX_BYTES or kept == 0:
            return count, value
        kept = max(0, min(kept - 1, int(kept * PROPERTY_MAX_BYTES / size)))


def issue_search_write(client: JiraClient, site: JiraSite, issue_id: str) -> int:
    count, value = issue_search_values(site, issue_id)
    client.set_property(issue_id, PROPERTY_KEY, value)
    search = SiteSearchSettings.objects.filter(site=site).first()
    if search and search.count_field_id:
        client.set_field(issue_id, search.count_field_id, count)
    if search and search.replies_field_id:
        client.set_field(issue_id, search.replies_field_id, value["customerReplies"])
    return count

"""What the connector writes on the Jira issue: one remote link per conversation, the count field and the
issue property with the linked ids. Called from tasks only (vendor calls never run in a request)."""

import json

from connector.jira_client import JiraClient
from connector.models import JiraSite
from linking.conversation_urls import conversation_web_url
from linking.models import ConversationLink, SiteSearchSettings
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


PROPERTY_MAX_BYTES = 32_768  # Jira refuses longer issue property values (400)


def issue_search_values(site: JiraSite, issue_id: str) -> tuple[int, dict]:
    """The count (reachable links only) and the property value, from the database as it is now.

    The property holds the count and the most recently linked conversations that fit in Jira's 32,768 bytes
    (oldest first), with `truncated` when older ones were left out; the count field carries the number.
    """
    links = (
        ConversationLink.objects.filter(site=site, issue_id=issue_id, health=ConversationLink.Health.OK)
        .order_by("-created_at", "-id")
        .values_list("workspace__workspace_id", "conversation_id")
    )
    count = links.count()
    recent = list(links[:PROPERTY_MAX_ENTRIES])
    kept = len(recent)
    while True:
        shown = list(reversed(recent[:kept]))
        value = {
            "count": count,
            "truncated": kept < count,
            "conversationIds": [conversation_id for _, conversation_id in shown],
            "conversations": [{"workspaceId": workspace, "id": conversation} for workspace, conversation in shown],
        }
        size = len(json.dumps(value).encode())
        if size <= PROPERTY_MAX_BYTES or kept == 0:
            return count, value
        kept = max(0, min(kept - 1, int(kept * PROPERTY_MAX_BYTES / size)))


def issue_search_write(client: JiraClient, site: JiraSite, issue_id: str) -> int:
    count, value = issue_search_values(site, issue_id)
    client.set_property(issue_id, PROPERTY_KEY, value)
    field_id = SiteSearchSettings.objects.filter(site=site).values_list("count_field_id", flat=True).first()
    if field_id:
        client.set_field(issue_id, field_id, count)
    return count

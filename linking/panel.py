"""What the Jira issue panel (the Forge app) shows and who is looking: reads for linking/forge_api.py.

The panel shows what our own issue page shows (the same links, the admin's chosen fields, the same cards) to the
Jira user the Forge Invocation Token names, under the same rule: their own Jira account must be able to browse
the issue. A Jira user with a local account acts with that account's permissions; one without may only read,
and only when FORGE_UNMAPPED_CAN_VIEW allows it.
"""

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError, VendorErrorKind
from connector.forge_tokens import Invocation
from connector.jira_client import JiraClient
from connector.models import JiraSite, ProjectConnection
from connector.user_tokens import user_client, user_token_for
from linking.access import AccessDecision, account_may_browse, is_access_admin, unconfirmed
from linking.selectors import Card, issue_cards
from linking.services import IssueTarget
from linking.tickets import ticket_card

User = get_user_model()


class PanelRefused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class PanelContext:
    invocation: Invocation
    site: JiraSite
    project: ProjectConnection
    target: IssueTarget
    user: object | None  # the local account mapped to the viewer's Jira account, if any

    def may(self, code: str) -> bool:
        return self.user is not None and self.user.has_perm(f"accounts.{code}")


def site_for(invocation: Invocation) -> JiraSite:
    """The connected Jira Cloud site the token was issued for (by its pinned cloud id, else its URL)."""
    sites = JiraSite.objects.filter(deployment=JiraSite.Deployment.CLOUD)
    site = sites.filter(jira_instance_id=invocation.cloud_id).first()
    if site is None and invocation.site_url:
        url = invocation.site_url.rstrip("/")
        site = sites.filter(base_url__in=[url, url + "/"]).first()
    if site is None:
        raise PanelRefused(
            f"The Jira site {invocation.site_url or invocation.cloud_id} is not connected to this service. "
            "An admin connects it on the Connections page.",
            404,
        )
    return site


def viewer_account(account_id: str):
    """The active local account mapped to this Jira account (the token always names one), or None."""
    return User.objects.filter(is_active=True, profile__jira_account_id=account_id).order_by("pk").first()


def user_client_for(invocation: Invocation, site: JiraSite, user_token: str) -> JiraClient | None:
    """A client that calls Jira as the viewer, from the user token Forge forwards; only towards Atlassian's API
    gateway (the token's apiBaseUrl, checked against ATLASSIAN_API_URL), never towards a URL of anyone's choice."""
    if not user_token or not invocation.api_base_url:
        return None
    gateway = urlsplit(settings.ATLASSIAN_API_URL)
    base = urlsplit(invocation.api_base_url)
    if (base.scheme, base.netloc) != (gateway.scheme, gateway.netloc):
        return None
    return JiraClient.as_user(base_url=invocation.api_base_url, deployment=site.deployment, access_token=user_token)


def panel_context(invocation: Invocation, issue: str, *, user_token: str = "") -> PanelContext:
    """Check the call against its token and the access rule; raise PanelRefused (with the HTTP status) if not."""
    if issue not in (invocation.issue_id, invocation.issue_key):
        raise PanelRefused(
            f"This call's token was issued for issue {invocation.issue_key or invocation.issue_id}, not {issue[:40]}.",
            403,
        )
    site = site_for(invocation)
    project = project_connection_for(
        site, project_id=invocation.project_id, project_key=invocation.project_key, issue_key=invocation.issue_key
    )
    if project is None:
        raise PanelRefused(
            f"Project {invocation.project_key or invocation.issue_key} is not connected to an Intercom workspace.", 404
        )
    user = viewer_account(invocation.account_id)
    if user is None and not settings.FORGE_UNMAPPED_CAN_VIEW:
        raise PanelRefused(
            "Your Jira account is not mapped to an account of the connector. Sign in to the connector with "
            "Atlassian once, or ask an administrator to set your Jira account id on the People page.",
            403,
        )
    if user is not None and not user.has_perm("accounts.view_links"):
        raise PanelRefused("You need the permission “View linked conversations”; ask a user who manages people.", 403)
    decision = _access(invocation, site, user, user_token)
    if not decision.allowed:
        raise PanelRefused(decision.reason, 403)
    target = IssueTarget(
        site=site,
        issue_id=invocation.issue_id,
        issue_key=invocation.issue_key,
        project_key=invocation.project_key or project.project_key,
        project_id=invocation.project_id,
    )
    return PanelContext(invocation=invocation, site=site, project=project, target=target, user=user)


def _access(invocation: Invocation, site: JiraSite, user, user_token: str) -> AccessDecision:
    if user is not None and is_access_admin(user):
        return AccessDecision(True)
    key = invocation.issue_key or invocation.issue_id
    client = None
    try:
        client = user_client_for(invocation, site, user_token)
        stored = user_token_for(site, user) if client is None and user is not None else None
        if stored is not None and stored.account_id == invocation.account_id:  # their Sign in with Atlassian token
            client = user_client(stored)
        allowed = account_may_browse(site, invocation.account_id, invocation.issue_id, as_viewer=client)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.AUTH and client is None:
            return AccessDecision(False, f"Jira could not confirm that you may see {key} ({exc}). The app sent no "
                                         "user token: an admin keeps appUserToken enabled in the Forge app's manifest "
                                         "(docs/forge.md), or gives the connector's app user Administer Jira.")
        return AccessDecision(False, unconfirmed(key, exc, own_token=True))
    if not allowed:
        return AccessDecision(
            False, f"Your Jira account may not browse {key}, so its linked conversations are hidden from you too."
        )
    return AccessDecision(True)


def _field(value) -> dict:
    html = isinstance(value.value, str) and hasattr(value.value, "__html__")
    return {"label": value.label, "value": str(value.value), "html": html}


def card_entry(card: Card) -> dict:
    ticket = card.ticket
    return {
        "id": card.link.pk,
        "type": card.link.target_type,
        "tracker": card.link.is_tracker,
        "ticket": None if ticket is None else {
            "title": ticket.title, "number": ticket.number, "category": ticket.category,
            "state": ticket.state_label, "type": ticket.ticket_type, "problem": ticket.problem,
        },
        "conversation_id": card.link.conversation_id,
        "url": card.url,
        "linked_at": card.link.created_at.isoformat(),
        "problem": card.problem,
        "freshness": card.freshness,
        "fetched_at": card.fetched_at.isoformat() if card.fetched_at else None,
        "sections": [{"title": title, "fields": [_field(v) for v in values]} for title, values in card.sections],
    }


PANEL_PAGE_SIZE = 50


def panel_listing(context: PanelContext, *, query: str = "", page: int = 1) -> dict:
    """A page of the issue's linked conversations as cards, from stored snapshots (never calls Intercom)."""
    listing = issue_cards(
        context.site,
        context.target.issue_id,
        details=context.project.conversation_view,
        query=query,
        page=page,
        per_page=PANEL_PAGE_SIZE,
    )
    # As on the issue page: a ticket link shows the ticket's title and state (read, briefly cached, for this page).
    shown = [
        replace(card, ticket=ticket_card(card.link.workspace, card.link.conversation_id)) if card.link.is_ticket
        else card
        for card in listing.cards
    ]
    return {
        "links": [card_entry(card) for card in shown],
        "total": listing.total,
        "matching": listing.matching,
        "page": listing.page,
        "pages": listing.pages,
        "query": listing.query,
    }


def panel_permissions(context: PanelContext) -> dict:
    project = context.project
    can_reply = project.comment_from_jira and project.customer_replies_allowed and context.may("reply_customer")
    return {
        "can_change": project.linking_enabled and context.may("change_links"),
        "can_comment": project.comment_from_jira and (context.may("comment_note") or can_reply),
        "can_reply": bool(can_reply),
    }

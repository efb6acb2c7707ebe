"""Ticket data for the issue view's cards, read through the Intercom client and cached briefly (as snapshots.py
does for conversations)."""

from dataclasses import dataclass

from django.core.cache import cache

from connector.errors import VendorError, VendorErrorKind
from connector.models import IntercomWorkspace
from linking import intercom_reads

CACHE_SECONDS = 60


@dataclass
class TicketCard:
    ticket_id: str
    title: str = ""
    number: str = ""  # the inbox's ticket number (#123), not the API id
    category: str = ""  # Customer, Back-office or Tracker
    state_label: str = ""
    state_category: str = ""  # submitted, in_progress, waiting_on_customer, resolved
    ticket_type: str = ""
    problem: str = ""  # "", "deleted" or "unreachable"
    message: str = ""


def ticket_card(workspace: IntercomWorkspace, ticket_id: str, *, fresh: bool = False) -> TicketCard:
    key = f"linking:ticket:{workspace.pk}:{ticket_id}"
    if not fresh and (cached := cache.get(key)) is not None:
        return cached
    try:
        ticket = intercom_reads.read(workspace, lambda c: c.ticket(ticket_id))
    except VendorError as exc:
        problem = "deleted" if exc.kind == VendorErrorKind.NOT_FOUND else "unreachable"
        return TicketCard(ticket_id=ticket_id, problem=problem, message=str(exc))
    state = ticket.get("ticket_state") or {}
    card = TicketCard(
        ticket_id=ticket_id,
        title=str((ticket.get("ticket_attributes") or {}).get("_default_title_") or ""),
        number=str(ticket.get("ticket_id") or ""),
        category=str(ticket.get("category") or ""),
        state_label=str(state.get("internal_label") or state.get("category") or ""),
        state_category=str(state.get("category") or ""),
        ticket_type=str((ticket.get("ticket_type") or {}).get("name") or ""),
    )
    cache.set(key, card, CACHE_SECONDS)
    return card


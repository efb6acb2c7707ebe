"""Signals of the delivery engine, for the apps above it (deliveries never imports them)."""

from django.dispatch import Signal

# A tracker ticket was created in Intercom for an issue: kwargs delivery_id, ticket_id. Sent once the delivery
# is recorded as sent; linking makes the tracker link (linking.receivers).
ticket_created = Signal()

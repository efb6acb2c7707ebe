"""The events page for admins: recent deliveries, their outcome, the raw payload, reprocess."""

"""Celery tasks for connection health (periodic re-verification)."""

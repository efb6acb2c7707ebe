"""The one seam through which typed events leave the connector app.

connector never imports linking or notifications: settings.CONNECTOR_EVENT_HANDLERS names, per source, the
functions that receive each processed delivery, in order. They run inside the processing transaction, so
whatever they plan commits together with the event's "processed" status, or not at all.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@cache
def _handlers(source: str) -> tuple:
    return tuple(import_string(path) for path in settings.CONNECTOR_EVENT_HANDLERS.get(source, ()))


def dispatch(source: str, *, webhook_event, events) -> None:
    for handler in _handlers(source):
        handler(webhook_event=webhook_event, events=events)

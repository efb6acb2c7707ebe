"""`make demo` restarted on the same database gives the same result: the suggested transition notes again."""

import socket
import urllib.request

import pytest

from connector.models import JiraSite, WebhookEvent
from deliveries.models import Delivery
from notifications.models import NotificationRule
from pipeline.process import webhook_event_process
from sandbox import demo
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def transition_and_process(jira, issue) -> int:
    """Move the demo issue to Done as the demo suggests; process the webhook Jira sends; count the notes planned."""
    before = set(WebhookEvent.objects.values_list("pk", flat=True))
    jira.transition(issue["key"], "Done")
    event = wait_for(lambda: WebhookEvent.objects.exclude(pk__in=before).filter(issue_key=issue["key"]).first(),
                     message="the demo's webhook")
    webhook_event_process(event.pk)
    return Delivery.objects.filter(webhook_event=event, action="note").count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_restarted_demo_notes_the_suggested_transition_again(live_server, enqueued, capsys):
    # The default rule a fresh install has (a transactional test may run after another emptied the tables).
    NotificationRule.objects.get_or_create(name="Note on any transition", trigger="issue_transitioned",
                                           defaults={"actions": [{"type": "note"}]})
    ports = {"jira_port": free_port(), "intercom_port": free_port()}  # a restart keeps them (JIRA_PORT=…)
    sims = []
    try:
        for _run in range(2):
            jira, intercom, issue = demo.setup(service_url=live_server.url, **ports)
            sims += [jira, intercom]
            assert transition_and_process(jira, issue) == 3
            page = urllib.request.urlopen(f"{intercom.url}/_sim/", timeout=5)  # noqa: S310 (the local simulator)
            assert page.headers["Content-Type"].startswith("text/html")
            assert "Cannot pay (customer 1)" in page.read().decode()
            jira.stop()
            intercom.stop()
    finally:
        for sim in sims:
            sim.stop()
    assert JiraSite.objects.filter(name=demo.DEMO_SITE).count() == 1
    printed = capsys.readouterr().out
    assert printed.rstrip().splitlines()[-1].startswith(f"Log in: {live_server.url}/login/  username: demo")
    assert "127.0.0.1" in printed and "/_sim/" in printed

"""The intake listener: PostgreSQL's notifications, sent when a delivery commits, become Celery hints.

Real PostgreSQL, real LISTEN/NOTIFY; only the publish to the broker is replaced by a recorder, so each test can
see exactly which ids were handed on, and make the "broker" refuse. Each test uses a lock key of its own, so
the session's worker (which listens too) never stands in the way.
"""

import itertools
import threading

import pytest
from django.test import Client
from django.utils import timezone

from connector.models import WebhookEvent
from pipeline.listener import IntakeListener
from tests.conftest import wait_for
from tests.factories import JiraSiteFactory, WebhookEventFactory
from tests.webhooks import jira_sample, post_jira

pytestmark = pytest.mark.django_db(transaction=True)
TRANSITION = "webhook-issue-updated-started-working.json"
_keys = itertools.count(0x7E570000)


class Recorder:
    """Stands in for the broker: records each published batch; refuses the first `refuse` publishes."""

    def __init__(self, refuse: int = 0):
        self.batches: list[list[int]] = []
        self.refused = 0
        self._refuse = refuse
        self._lock = threading.Lock()

    def __call__(self, ids: list[int]) -> bool:
        with self._lock:
            if self.refused < self._refuse:
                self.refused += 1
                return False
            self.batches.append(list(ids))
            return True

    @property
    def ids(self) -> list[int]:
        with self._lock:
            return [i for batch in self.batches for i in batch]


def _listener(recorder, **kwargs) -> IntakeListener:
    listener = IntakeListener(publish=recorder, lock_key=next(_keys), **kwargs).start()
    assert listener.listening.wait(10), "the listener did not start listening"
    return listener


def test_each_stored_delivery_is_handed_on_once():
    recorder, site = Recorder(), JiraSiteFactory()
    listener = _listener(recorder)
    try:
        stored = [post_jira(Client(), site, jira_sample(TRANSITION)).json()["id"] for _ in range(20)]
        post_jira(Client(), site, jira_sample(TRANSITION), identifier="again")
        post_jira(Client(), site, jira_sample(TRANSITION), identifier="again")  # a duplicate: nothing new
        stored.append(WebhookEvent.objects.get(delivery_id="again").pk)
        wait_for(lambda: len(recorder.ids) >= len(stored), timeout=10, message="every id to be published")
    finally:
        listener.stop()
    assert sorted(recorder.ids) == sorted(stored)


def test_ignored_topics_are_not_handed_on():
    from tests.factories import IntercomWorkspaceFactory
    from tests.webhooks import intercom_sample, post_intercom

    recorder, workspace = Recorder(), IntercomWorkspaceFactory()
    listener = _listener(recorder)
    try:
        post_intercom(Client(), workspace, intercom_sample("conversation_admin_noted.json"))  # stored as ignored
        acted_on = post_intercom(Client(), workspace, intercom_sample("conversation_admin_closed.json")).json()["id"]
        wait_for(lambda: recorder.ids, timeout=10, message="the closed conversation to be published")
    finally:
        listener.stop()
    assert recorder.ids == [acted_on]


def test_deliveries_stored_while_nobody_listened_are_handed_on_when_it_starts():
    site = JiraSiteFactory()
    # Stored without a notification, as if they arrived while no listener ran.
    missed = [WebhookEventFactory(site=site, delivery_id=f"missed-{n}", payload={}).pk for n in range(3)]
    failed_once = WebhookEventFactory(site=site, delivery_id="missed-99", payload={})
    failed_once.next_attempt_at = timezone.now()  # waiting for its retry: the sweeper's, not the listener's
    failed_once.save()
    recorder = Recorder()
    listener = _listener(recorder)
    listener.stop()
    assert recorder.ids == missed


def test_while_the_broker_refuses_the_ids_are_kept_and_sent_when_it_takes_them_again():
    recorder, site = Recorder(refuse=2), JiraSiteFactory()
    listener = _listener(recorder)
    try:
        stored = [post_jira(Client(), site, jira_sample(TRANSITION)).json()["id"] for _ in range(5)]
        wait_for(lambda: len(recorder.ids) >= 5, timeout=15, message="the kept ids to be published")
    finally:
        listener.stop()
    assert recorder.refused == 2
    assert sorted(recorder.ids) == sorted(stored)


def test_one_listener_listens_and_another_takes_over_when_it_goes():
    key = next(_keys)
    first, second = Recorder(), Recorder()
    one = IntakeListener(publish=first, lock_key=key, standby_seconds=0.2).start()
    assert one.listening.wait(10)
    two = IntakeListener(publish=second, lock_key=key, standby_seconds=0.2).start()
    site = JiraSiteFactory()
    try:
        event = post_jira(Client(), site, jira_sample(TRANSITION)).json()["id"]
        wait_for(lambda: first.ids, timeout=10, message="the first listener to publish")
        assert not two.listening.is_set() and second.ids == []  # standing by: one hint, not two
        one.stop()
        assert two.listening.wait(10), "the standby did not take over"
        later = post_jira(Client(), site, jira_sample(TRANSITION)).json()["id"]
        wait_for(lambda: later in second.ids, timeout=10, message="the second listener to publish")
    finally:
        one.stop()
        two.stop()
    assert first.ids == [event]

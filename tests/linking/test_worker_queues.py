"""With real Celery workers as the Procfile runs them: a transition is noted while linking's Jira writes wait
on the housekeeping queue, which only the housekeeping worker serves."""

import pytest
from django.conf import settings
from django.db import transaction

from linking import services
from linking.models import JiraWrite
from linking.services import IssueTarget
from notifications.models import NotificationRule
from tests.conftest import WorkerProcess, wait_for, worker_env
from tests.webhooks import post_jira

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_notes_go_out_while_jira_writes_wait_for_the_housekeeping_worker(connected, jira_hooks, client, tmp_path):
    NotificationRule.objects.create(
        name="Transitions", trigger="issue_transitioned", enabled=True, position=1, actions=[{"type": "note"}]
    )
    connected.jira.rate_limit = 10  # per second: the Jira side of the links below takes a while
    linked_many = connected.issue("Many links")
    noted = connected.issue("Noted")
    conversation = connected.intercom.add_conversation()
    ids = connected.intercom.add_conversations(150)
    many = IssueTarget(connected.site, linked_many["id"], linked_many["key"], project_key="SUP")
    one = IssueTarget(connected.site, noted["id"], noted["key"], project_key="SUP")
    with transaction.atomic():
        services.links_create_many(target=many, workspace=connected.workspace, texts=ids, source="api")
        services.link_create(
            target=one, workspace=connected.workspace, conversation_id=conversation["id"], source="api"
        )
    jira_hooks.take()

    env = worker_env(settings.DATABASES["default"]["NAME"], VAR_DIR=str(tmp_path))
    main = WorkerProcess(env, queues="webhooks,deliveries,default").start()
    try:
        connected.jira.transition(noted["key"], "In Progress")
        for raw in jira_hooks.take():
            assert post_jira(client, connected.site, None, body=raw).status_code == 202
        wait_for(
            lambda: any(e.conversation_id == conversation["id"] for e in connected.intercom.ledger),
            timeout=30,
            message="the transition's note",
        )
        # the note did not wait for them: nothing this worker serves holds linking's Jira writes
        assert JiraWrite.objects.filter(issue_id=linked_many["id"]).exists()
        housekeeping = WorkerProcess(env, queues="housekeeping", concurrency=4).start()
        try:
            wait_for(lambda: not JiraWrite.objects.filter(issue_id=linked_many["id"]).exists(), timeout=90,
                     message="the housekeeping worker to write the Jira side")
        finally:
            housekeeping.stop()
    finally:
        main.stop()
    assert len(connected.sim_issue(linked_many["key"])["remotelinks"]) == 150

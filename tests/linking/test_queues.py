"""Queues: webhook processing and deliveries never wait behind linking's housekeeping (Jira writes, refreshes)."""

from pathlib import Path

import pytest

from config.celery import app

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("pipeline.tasks.webhook_event_process", "webhooks"),
        ("pipeline.tasks.webhook_events_process", "webhooks"),
        ("notifications.tasks.link_events_plan", "webhooks"),
        ("deliveries.tasks.delivery_pump", "deliveries"),
        ("linking.tasks.jira_writes_drain", "housekeeping"),
        ("linking.tasks.snapshots_refresh", "housekeeping"),
        ("linking.tasks.link_health_sweep", "housekeeping"),
        ("connector.connection_tasks.connections_health_check", "default"),
    ],
)
def test_each_task_is_routed_to_its_queue(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_the_main_worker_serves_webhooks_and_deliveries_and_housekeeping_has_its_own():
    lines = {line.split(":", 1)[0]: line for line in PROCFILE.read_text().splitlines() if ":" in line}
    assert "--queues webhooks,deliveries,default " in lines["worker"]
    assert "--queues housekeeping " in lines["housekeeping"]

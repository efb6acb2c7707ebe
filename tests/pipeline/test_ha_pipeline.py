"""The pipeline on the high-availability setups, end to end with a real worker and beat (tests/faults runs the
same fan-outs larger and with faults): webhook in, processed, every note delivered exactly once.

- PgBouncer in transaction mode carries all database traffic but the intake listener's, which connects
  straight (LISTENER_DATABASE_URL); the sweeper is held back, so only the listener can hand the webhook on.
- RabbitMQ is the broker, every queue a quorum queue; Redis keeps the rate limiter and the leases.
"""

import pytest

from tests.faults.scenarios import run

pytestmark = pytest.mark.worker

QUEUES = {"webhooks", "deliveries", "default", "housekeeping"}


def _exactly_once(result: dict, conversations: int) -> None:
    assert result["lost"] == 0, result
    assert result["duplicates"] == 0, result
    assert result["statuses"] == {"sent": conversations}, result
    assert result["max_calls_per_window"] <= result["limit_per_10s"], result


def test_the_pipeline_works_through_pgbouncer_in_transaction_mode():
    result = run("pgbouncer", conversations=60)
    _exactly_once(result, 60)
    assert result["pgbouncer_transactions"] > 60, result  # the worker's and the intake's work went through it


def test_the_pipeline_works_with_rabbitmq_as_the_broker():
    result = run("rabbitmq", conversations=60)
    _exactly_once(result, 60)
    assert {name: result["queue_types"].get(name) for name in QUEUES} == dict.fromkeys(QUEUES, "quorum"), result

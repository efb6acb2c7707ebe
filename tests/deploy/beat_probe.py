"""The celery app the two-beat test runs: the project's app with one short periodic task, sent to a queue of
its own (BEAT_PROBE_QUEUE, every BEAT_PROBE_SECONDS) so the test can count each send as it arrives."""

import os

from config.celery import app

app.conf.beat_schedule = {
    "probe": {
        "task": "tests.beat_probe",
        "schedule": float(os.environ["BEAT_PROBE_SECONDS"]),
        "options": {"queue": os.environ["BEAT_PROBE_QUEUE"]},
    }
}

import gc
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("connector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_tidy(sender=None, **kwargs) -> None:
    # What Django does around each request, around each task instead of Celery's close-everything: a task
    # thread keeps its connection (and its prepared statements) for DB_CONN_MAX_AGE unless it broke. Not for a
    # task run in place (.apply()), which shares its caller's connection and transaction.
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@worker_ready.connect
def _freeze_loaded_objects(**kwargs) -> None:
    # As in config/wsgi.py: full collections then skip what was loaded at start-up (a long pause otherwise).
    gc.freeze()


# Connects the worker's profiling signals (a profile only when WORKER_PROFILE is set); after the app exists.
from config import profiling  # noqa: E402, F401

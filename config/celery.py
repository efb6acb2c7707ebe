import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("connector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Connects the worker's profiling signals (a profile only when WORKER_PROFILE is set); after the app exists.
from config import profiling  # noqa: E402, F401

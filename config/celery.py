import gc
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("connector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()



@worker_ready.connect
def _freeze_loaded_objects(**kwargs) -> None:
    # As in config/wsgi.py: full collections then skip what was loaded at start-up (a long pause otherwise).
    gc.freeze()


# Connects the worker's profiling signals (a profile only when WORKER_PROFILE is set); after the app exists.
from config import profiling  # noqa: E402, F401

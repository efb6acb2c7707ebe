"""The baseline for the intake benchmark: Django with nothing but one view that answers 200.

Its own settings and urlconf (this module is both), no database, no middleware: the floor that any Django
endpoint served by the same gunicorn cannot go below.
"""

from django.http import HttpResponse
from django.urls import re_path

SECRET_KEY = "bench-bare-not-a-secret"  # noqa: S105 - signs nothing; the app has no sessions
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
ROOT_URLCONF = "bench.bare_settings"
USE_TZ = True


def ok(request):
    return HttpResponse(b'{"status": "accepted"}', status=200, content_type="application/json")


urlpatterns = [re_path(r"", ok)]

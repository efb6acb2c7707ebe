"""The floor for the intake benchmark: Django with one view that stores the body durably and answers 202.

No middleware, no signature, no parsing, no ORM: one autocommit INSERT of the raw body into a table with a
primary key and nothing else, on a connection kept open. Whatever a store-then-acknowledge endpoint does,
it cannot go below this on the same machine; the gap between it and the bare view is the price of the
commit itself (the WAL flush each delivery waits for), not of our code.
"""

import os
import threading

import psycopg
from django.http import HttpResponse
from django.urls import re_path

# The bare app's settings, so only the view differs.
from bench.bare_settings import ALLOWED_HOSTS, DATABASES, DEBUG, INSTALLED_APPS, MIDDLEWARE, SECRET_KEY, USE_TZ  # noqa: F401

ROOT_URLCONF = "bench.floor_settings"
TABLE = "bench_floor"
PLAIN = f"INSERT INTO {TABLE} (body) VALUES (%s)"  # noqa: S608
# The notify_floor server: as pipeline.intake, the notification goes out with the row's commit.
NOTIFIED = f"WITH stored AS ({PLAIN} RETURNING id) SELECT pg_notify('bench_floor', id::text) FROM stored"  # noqa: S608
_local = threading.local()  # a connection per thread, kept open like Django's persistent connections


def store(request):
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    conn.execute(NOTIFIED if os.environ.get("FLOOR_NOTIFY") else PLAIN, [request.body.decode()])
    return HttpResponse(b'{"status": "accepted"}', status=202, content_type="application/json")


urlpatterns = [re_path(r"", store)]

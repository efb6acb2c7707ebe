"""Where an intake request spends its time: `DJANGO_ENV=test .venv/bin/python -m bench.intake_profile`.

Not a registered benchmark (it prints, it does not score). In one process, with Django's test client on a
fresh database: the cost of a signed Jira delivery as served, the site lookup alone, and a cProfile of the
view. (The web process publishes nothing to the broker on PostgreSQL: the insert's pg_notify does that.)
"""

import cProfile
import hashlib
import hmac
import io
import os
import pstats
import secrets
import sys
import time
import uuid

from bench.intake import SAMPLE, _contracts_dir
from sandbox.processes import fresh_database, manage

N = 500


def _per_request_ms(post, n: int = N) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        post()
    return (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000


def main() -> None:
    with fresh_database("connector_bench_profile") as url:
        os.environ.update(DJANGO_ENV="test", DATABASE_URL=url)
        os.environ.pop("CELERY_BROKER_URL", None)
        manage(dict(os.environ), "migrate", "--noinput", "-v0")
        import django

        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        django.setup()
        from django.db import connections
        from django.test import Client

        from connector.models import JiraSite  # after django.setup()

        secret = secrets.token_urlsafe(32)
        site = JiraSite.objects.create(name="Profile", base_url="https://profile.example.net", webhook_secret=secret)
        body = (_contracts_dir() / SAMPLE).read_bytes()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        client, path = Client(), f"/webhooks/jira/{site.public_id}"

        def post():
            response = client.post(path, data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE=signature,
                                   HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER=str(uuid.uuid4()))
            assert response.status_code == 202, response.content

        _per_request_ms(post, 50)  # warm
        rows = [("as served", *_per_request_ms(post))]
        parts = {
            "JiraSite lookup + decrypt alone": lambda: JiraSite.objects.filter(public_id=site.public_id)
            .only("pk", "webhook_secret").first().webhook_secret,
        }
        for label, part in parts.items():
            rows.append((label, *_per_request_ms(part)))
        print(f"{'per request':34s} {'wall ms':>8s} {'cpu ms':>8s}")
        for label, wall, cpu in rows:
            print(f"{label:34s} {wall:8.2f} {cpu:8.2f}")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(N):
            post()
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
        stats.print_stats(r"(intake|webhook_views|middleware|psycopg)")
        print(out.getvalue())
        connections.close_all()


if __name__ == "__main__":
    sys.exit(main())

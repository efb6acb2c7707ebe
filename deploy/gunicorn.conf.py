"""Gunicorn as the Procfile's `web` line runs it (`gunicorn config.wsgi --config deploy/gunicorn.conf.py`).

In production it stands behind deploy/nginx/connector.conf, which reads every request whole and every response
out at the client's pace, so a thread here waits only on our own code, never on a slow client: gunicorn's
threads read request bodies themselves, and eight clients trickling a body in would otherwise hold all of them.
Set WEB_BIND=127.0.0.1:8000 there, so that nobody reaches gunicorn around nginx.
"""

import os

bind = [os.environ.get("WEB_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A page that waits for Jira or Intercom holds one thread; webhook intake keeps the others.
threads = int(os.environ.get("WEB_THREADS", "4"))

# A worker whose main loop is silent this long is restarted (threads do not count: gthread heartbeats).
timeout = 30
graceful_timeout = 30
# Longer than nginx's `keepalive_timeout` towards us (60 s in connector.conf), so gunicorn never closes a
# kept-alive connection just as nginx sends the next request on it.
keepalive = 75

# nginx sets X-Forwarded-Proto; '*' also fits platforms whose router address is not known in advance (Heroku).
# Behind nginx on the same host, gunicorn only listens on loopback, so nobody else can send the header.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")

accesslog = "-"
# No query string (%(U)s, not %(r)s): a Jira Data Center webhook without signing carries its secret as ?token=.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

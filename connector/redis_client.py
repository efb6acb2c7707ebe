"""The one place that builds Redis clients: broker helpers, the rate limiter, leases and caches all ask here,
so the connection options and Sentinel URLs are decided once.

A Redis URL is either a plain `redis://` / `rediss://` URL or, for high availability, a Sentinel URL:

    sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...][/DB]?service_name=NAME[&sentinel_password=SECRET]

listing the sentinels (not the primary); the client asks them for the current primary of `service_name` and
asks again when it fails over. PASSWORD is the primary's, `sentinel_password` the sentinels' own (if any).
"""

import urllib.parse
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "sentinel"


@dataclass(frozen=True)
class SentinelURL:
    hosts: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    password: str | None = None
    sentinel_password: str | None = None


def is_sentinel(url: str) -> bool:
    return url.startswith(f"{SENTINEL_SCHEME}://")


def parse_sentinel_url(url: str) -> SentinelURL:
    """The parts of a Sentinel URL (form in the module docstring); ImproperlyConfigured names what is wrong."""
    rest = url[len(SENTINEL_SCHEME) + 3 :]
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    credentials, _, hostlist = netloc.rpartition("@")
    password = urllib.parse.unquote(credentials.partition(":")[2]) or None
    hosts = []
    for item in filter(None, hostlist.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"Sentinel URL: {item!r} must be HOST:PORT (a sentinel, usually port 26379)")
        hosts.append((host.strip("[]"), int(port)))
    if not hosts:
        raise ImproperlyConfigured("Sentinel URL: list at least one sentinel, e.g. sentinel://h1:26379,h2:26379/0")
    if path and not path.isdigit():
        raise ImproperlyConfigured(f"Sentinel URL: the database must be a number, not {path!r}")
    params = dict(urllib.parse.parse_qsl(query))
    service_name = params.get("service_name", "")
    if not service_name:
        raise ImproperlyConfigured("Sentinel URL: add ?service_name=NAME, the primary's name in the sentinels' config")
    return SentinelURL(
        hosts=tuple(hosts),
        service_name=service_name,
        db=int(path or 0),
        password=password,
        sentinel_password=params.get("sentinel_password"),
    )


def celery_broker(url: str) -> tuple[str, dict]:
    """Celery's form of a broker URL and the transport options it needs: kombu lists the sentinels as
    `sentinel://host:port/db;sentinel://…` and names the primary in `master_name`."""
    if not is_sentinel(url):
        return url, {}
    parsed = parse_sentinel_url(url)
    auth = f":{urllib.parse.quote(parsed.password, safe='')}@" if parsed.password else ""
    hosts = [(f"[{host}]" if ":" in host else host, port) for host, port in parsed.hosts]  # IPv6 in brackets
    broker = ";".join(f"sentinel://{auth}{host}:{port}/{parsed.db}" for host, port in hosts)
    options: dict = {"master_name": parsed.service_name}
    if parsed.sentinel_password:
        options["sentinel_kwargs"] = {"password": parsed.sentinel_password}
    return broker, options


def redis_connect(url: str | None = None, **options) -> redis.Redis:
    """A client for `url` (default: settings.REDIS_URL) with the service's timeouts; `options` override them.
    For a Sentinel URL it is a client of the current primary, which follows a failover by itself."""
    url = url or settings.REDIS_URL
    kwargs = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 30, "retry_on_timeout": True}
    kwargs.update(options)
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **kwargs)
    parsed = parse_sentinel_url(url)
    sentinel_kwargs = {k: kwargs[k] for k in ("socket_timeout", "socket_connect_timeout") if k in kwargs}
    if parsed.sentinel_password:
        sentinel_kwargs["password"] = parsed.sentinel_password
    sentinels = Sentinel(list(parsed.hosts), sentinel_kwargs=sentinel_kwargs)
    return sentinels.master_for(parsed.service_name, db=parsed.db, password=parsed.password, **kwargs)

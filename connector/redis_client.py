"""The one place that builds Redis clients: broker helpers, the rate limiter, leases and caches all ask here,
so the connection options (and, for high availability, Sentinel URLs) are decided once."""

import redis
from django.conf import settings


def redis_connect(url: str | None = None, **options) -> redis.Redis:
    """A client for `url` (default: settings.REDIS_URL) with the service's timeouts; `options` override them."""
    kwargs = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 30, "retry_on_timeout": True}
    kwargs.update(options)
    return redis.Redis.from_url(url or settings.REDIS_URL, **kwargs)

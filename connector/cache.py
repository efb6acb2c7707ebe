"""Django's Redis cache, with its client built by connector.redis_client: so a Sentinel URL works as LOCATION
and the cache follows a failover like every other Redis client of the service."""

from django.core.cache.backends import redis as django_redis

from connector.redis_client import redis_connect


class _Client(django_redis.RedisCacheClient):
    _shared = None

    def get_client(self, key=None, *, write=False):
        if self._shared is None:  # one client (and connection pool) per process, as Django's own keeps
            self._shared = redis_connect(self._servers[0])
        return self._shared


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._servers = [server]  # Django would split a Sentinel URL's host list at its commas
        self._class = _Client

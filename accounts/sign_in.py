"""Which address a sign-in comes from, for the lockout (settings.AXES_CLIENT_IP_CALLABLE)."""

import ipaddress

from django.conf import settings


def client_address(request) -> str | None:
    """REMOTE_ADDR, or behind LOGIN_TRUSTED_PROXIES proxies the address the outermost of them saw.

    Each proxy appends the address it was reached from to X-Forwarded-For, so only the last N entries are
    trustworthy; anything before them is whatever the client chose to send.
    """
    proxies = settings.LOGIN_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        try:
            return str(ipaddress.ip_address(forwarded[-proxies]))
        except ValueError:  # a misconfigured proxy: garbage must not reach the inet column (a 500)
            pass
    return request.META.get("REMOTE_ADDR")


def client_username(request, credentials) -> str | None:
    """The username tried, cut to what the attempts table holds: the sign-in forms do not limit its length,
    and a longer one would fail the insert (a 500). No account has a name that long, so nothing merges."""
    username = (credentials or getattr(request, "data", request.POST)).get("username")
    return username[:150] if isinstance(username, str) else username

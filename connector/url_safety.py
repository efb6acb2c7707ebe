"""The SSRF guard: connection URLs must be https on public addresses.

An admin types a Jira base URL and the server then calls it with credentials, so the field must not become
a way to reach internal hosts (cloud metadata at 169.254.169.254, a database port on 10.x, localhost).
The name is resolved and every address it resolves to must be public; the same check runs again on each
request (`GuardedAdapter`), so a name re-pointed at a private address after saving is refused too.
`settings.ALLOW_PRIVATE_URLS` lifts the rule for the simulators and on-premises Jira Data Center; plain
http is then accepted for private hosts only, never for public ones.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter


class UnsafeURL(ValidationError):
    pass


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"The host name {host} cannot be resolved. Check the spelling of the URL.") from None
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        found.append(address)
    return found


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not address.is_multicast


def host_is_private(host: str, *, require_resolvable: bool = True) -> bool:
    """True when any address of `host` is private, loopback, link-local or otherwise not global."""
    try:
        addresses = _addresses(host)
    except UnsafeURL:
        if require_resolvable:
            raise
        return False
    return any(not _is_public(a) for a in addresses)


def validate_connection_url(url: str, *, allow_private: bool | None = None, require_resolvable: bool = True) -> str:
    """The URL normalised (no trailing slash, query or fragment), or UnsafeURL saying why it is refused.

    require_resolvable=False (configuration import) accepts a name that does not resolve here yet; the
    connection is still checked on every call by GuardedAdapter.
    """
    allow_private = settings.ALLOW_PRIVATE_URLS if allow_private is None else allow_private
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL("Enter a full URL starting with https://, such as https://your-team.atlassian.net.")
    if parts.username or parts.password:
        raise UnsafeURL("The URL must not contain a user name or password; credentials have their own fields.")
    host = parts.hostname
    private = host_is_private(host, require_resolvable=require_resolvable)
    if private and not allow_private:
        raise UnsafeURL(
            f"{host} is a private, loopback or link-local address. The connector only calls public hosts, "
            "so this field cannot be used to reach internal services."
        )
    if parts.scheme != "https" and not (private and allow_private):
        raise UnsafeURL("The URL must start with https://; credentials are never sent over plain http.")
    path = parts.path.rstrip("/")
    port = f":{parts.port}" if parts.port else ""
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{netloc}{port}{path}"


class GuardedAdapter(HTTPAdapter):
    """Re-checks the host of every request (redirects included) at send time."""

    def send(self, request, *args, **kwargs):
        validate_connection_url(request.url)
        return super().send(request, *args, **kwargs)

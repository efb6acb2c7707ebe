"""The SSRF guard: connection URLs must be https on public addresses.

An admin types a Jira base URL and the server then calls it with credentials, so the field must not become
a way to reach internal hosts (cloud metadata at 169.254.169.254, a database port on 10.x, localhost).
The name is resolved and every address it resolves to must be public; the same check runs again on each
request (`GuardedAdapter`), so a name re-pointed at a private address after saving is refused too.
IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by the address
they carry, since the network delivers them there. The Intercom client's transport (`GuardedTransport`)
checks the address it actually connects to. `settings.ALLOW_PRIVATE_URLS` lifts the rule for the simulators
and on-premises Jira Data Center; plain http is then accepted for private hosts only, never for public ones.
"""

import functools
import http.client
import ipaddress
import select
import socket
import ssl
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")

# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at: IPv4-compatible (::/96),
# IPv4-translated (::ffff:0:0:0/96, SIIT) and NAT64's well-known prefix (64:ff9b::/96, RFC 6052).
# IPv4-mapped (::ffff:0:0/96) has its own accessor below.
_EMBEDS_LAST_32 = tuple(ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96"))
# NAT64's local-use prefix (RFC 8215) leads only into the operator's own network: never public.
_NEVER_PUBLIC = (ipaddress.ip_network("64:ff9b:1::/48"),)


class UnsafeURL(ValidationError):
    pass


def _addresses(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"The host name {host} cannot be resolved. Check the spelling of the URL.") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _embedded(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address delivers to (Python calls most of these forms global)."""
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if any(address in network for network in _EMBEDS_LAST_32):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour:  # 2002:AABB:CCDD::/48 -> AA.BB.CC.DD (bits 16-48)
        found.append(address.sixtofour)
    if address.teredo:  # (server, client); the client is stored inverted in the last 32 bits
        found.extend(address.teredo)
    return found


@functools.lru_cache(maxsize=1024)  # a verdict on an address never changes; each call re-checks its address
def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        embedded = _embedded(address)
        if embedded:
            return all(_is_public(inner) for inner in embedded)
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


def guarded_addresses(host: str) -> list[Address]:
    """The addresses to connect to for `host`, each one the guard accepts; UnsafeURL when one is private (while
    private URLs are not allowed), OSError when the name does not resolve (unreachable for now, not refused)."""
    try:
        addresses = _addresses(host)
    except UnsafeURL as exc:  # DNS may be down for a moment
        raise socket.gaierror(str(exc.message)) from None
    if not settings.ALLOW_PRIVATE_URLS:
        private = next((a for a in addresses if not _is_public(a)), None)
        if private is not None:
            raise UnsafeURL(
                f"{host} resolves to {private}, a private, loopback or link-local address. The connector only "
                "calls public hosts; turn on ALLOW_PRIVATE_URLS only for simulators or an on-premises server."
            )
    return addresses


def _first_accepting(addresses: list[Address], connect: Callable[[str], T], refused: tuple[type[Exception], ...]) -> T:
    """connect() to each address in turn, as socket.create_connection does: the next one when one refuses."""
    failure: Exception = OSError("no address to connect to")
    for address in addresses:
        try:
            return connect(str(address))
        except refused as exc:
            failure = exc
    raise failure


class _GuardedBackend(httpcore.SyncBackend):
    """Opens a connection only to an address the guard accepts, and to exactly the address it checked: a name
    re-pointed at a private address after saving, or between the check and the connection, is refused."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = guarded_addresses(host)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        connect = super().connect_tcp
        return _first_accepting(
            addresses, lambda address: connect(address, port, timeout, local_address, socket_options),
            (httpcore.ConnectError, httpcore.ConnectTimeout),
        )


class NoAnswer(Exception):
    """A call that got no answer; `sent` says whether the request may have reached the server."""

    def __init__(self, cause: BaseException, *, sent: bool):
        super().__init__(type(cause).__name__)
        self.sent = sent


class GuardedConnection:
    """One kept-alive HTTP(S) connection on the standard library's http.client, for hot paths where httpx's
    request and connection bookkeeping costs more CPU than the call (connector.intercom_client). Guarded as
    GuardedTransport is: plain http is checked on every request, the address on every new connection, TLS
    verifies the certificate against the name. Not thread-safe: one call at a time."""

    def __init__(self, base_url: str, *, timeout: float, connect_timeout: float, tls: ssl.SSLContext):
        self._base_url = base_url
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._timeout, self._connect_timeout, self._tls = timeout, connect_timeout, tls
        self._http: http.client.HTTPConnection | None = None

    def request(self, method: str, target: str, *, body: bytes | None, headers: dict[str, str]):
        """(status, headers, body) of one exchange; NoAnswer when there was none, UnsafeURL when refused."""
        if not self._https:  # plain http only to a private host while those are allowed
            validate_connection_url(self._base_url)
        if self._http is not None and not self._idle_and_open():
            self.close()
        if self._http is None:
            self._http = self._connect()
        try:
            self._http.request(method, target, body=body, headers=headers)
            response = self._http.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise NoAnswer(exc, sent=True) from None
        if response.will_close:
            self.close()
        return response.status, response.headers, data

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _idle_and_open(self) -> bool:
        # A kept-alive socket that is readable while idle was closed by the server: reusing it would turn a
        # write into an ambiguous one.
        sock = self._http.sock if self._http is not None else None
        if sock is None:
            return False
        poller = select.poll()  # not select(): a busy worker's descriptors may be numbered past 1024
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)

    def _connect(self) -> http.client.HTTPConnection:
        try:
            sock = _first_accepting(
                guarded_addresses(self._host),
                lambda address: socket.create_connection((address, self._port), timeout=self._connect_timeout),
                (OSError,),
            )
        except OSError as exc:
            raise NoAnswer(exc, sent=False) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self._timeout)
            if self._https:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
        except OSError as exc:  # the TLS handshake failed: nothing was sent
            sock.close()
            raise NoAnswer(exc, sent=False) from None
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        connection.sock = sock
        return connection


class GuardedTransport(httpx.HTTPTransport):
    """The httpx counterpart of GuardedAdapter: the scheme is checked on every request, the address on every
    new connection (a kept-alive one goes to an address already checked), so the hot path resolves nothing."""

    def __init__(self, **kwargs):
        super().__init__(trust_env=False, **kwargs)
        self._pool._network_backend = _GuardedBackend()  # httpx has no parameter for it

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":  # plain http only to a private host while those are allowed
            validate_connection_url(str(request.url))
        return super().handle_request(request)


class GuardedAdapter(HTTPAdapter):
    """Re-checks the host of every request (redirects included) at send time."""

    def send(self, request, *args, **kwargs):
        validate_connection_url(request.url)
        return super().send(request, *args, **kwargs)

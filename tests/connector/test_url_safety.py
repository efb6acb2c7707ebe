"""The SSRF guard on connection URLs: https on public addresses only, unless private URLs are allowed."""

import socket
import ssl
import threading

import pytest

from connector.url_safety import GuardedConnection, UnsafeURL, validate_connection_url


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1",
        "https://127.0.0.1:8443/jira",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3",
        "https://192.168.0.10",
        "https://172.16.5.4",
        "https://[::1]:8080",
        "https://[fe80::1]",
        "https://0.0.0.0",
        "https://localhost",  # a DNS name that resolves to loopback
    ],
)
def test_it_refuses_private_loopback_and_link_local_hosts(url, settings):
    with pytest.raises(UnsafeURL, match="private, loopback or link-local"):
        validate_connection_url(url, allow_private=False)


def test_it_refuses_plain_http_to_a_public_host():
    with pytest.raises(UnsafeURL, match="https://"):
        validate_connection_url("http://93.184.216.34", allow_private=False)
    with pytest.raises(UnsafeURL, match="https://"):
        validate_connection_url("http://93.184.216.34", allow_private=True)


def test_it_refuses_other_schemes_credentials_in_the_url_and_unresolvable_names():
    for url in ("ftp://93.184.216.34", "file:///etc/passwd", "93.184.216.34", ""):
        with pytest.raises(UnsafeURL):
            validate_connection_url(url, allow_private=False)
    with pytest.raises(UnsafeURL, match="user name or password"):
        validate_connection_url("https://admin:pw@93.184.216.34", allow_private=False)
    with pytest.raises(UnsafeURL, match="cannot be resolved"):
        validate_connection_url("https://no-such-host.invalid", allow_private=False)


def test_it_accepts_and_normalises_a_public_https_url():
    assert validate_connection_url("https://93.184.216.34:443/jira/", allow_private=False) == (
        "https://93.184.216.34:443/jira"
    )


def test_private_hosts_and_http_to_them_are_allowed_only_by_the_setting(settings):
    settings.ALLOW_PRIVATE_URLS = True
    assert validate_connection_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    settings.ALLOW_PRIVATE_URLS = False
    with pytest.raises(UnsafeURL):
        validate_connection_url("http://127.0.0.1:8080/")


def test_an_import_may_name_a_host_that_does_not_resolve_yet_but_never_a_private_one():
    assert validate_connection_url("https://no-such-host.invalid", allow_private=False, require_resolvable=False)
    with pytest.raises(UnsafeURL, match="private"):
        validate_connection_url("https://127.0.0.1", allow_private=False, require_resolvable=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]",  # IPv4-compatible
        "https://[::ffff:127.0.0.1]",  # IPv4-mapped
        "https://[::ffff:0:a9fe:a9fe]",  # IPv4-translated (SIIT): 169.254.169.254
        "https://[64:ff9b::10.0.0.1]",  # NAT64, well-known prefix
        "https://[64:ff9b::a9fe:a9fe]",  # NAT64 to the cloud metadata address
        "https://[64:ff9b:1::a00:1]",  # NAT64, local-use prefix: never public
        "https://[2002:7f00:1::1]",  # 6to4 around 127.0.0.1
        "https://[2002:c0a8:a::1]",  # 6to4 around 192.168.0.10
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_that_embed_a_private_ipv4_address_are_judged_by_that_address(url):
    with pytest.raises(UnsafeURL, match="private, loopback or link-local"):
        validate_connection_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["https://[64:ff9b::5db8:d822]", "https://[2002:5db8:d822::1]"])
def test_ipv6_forms_that_embed_a_public_ipv4_address_are_accepted(url):
    assert validate_connection_url(url, allow_private=False) == url


def test_a_name_that_resolves_to_an_embedded_private_address_is_refused(monkeypatch):
    def resolve(host, port, **kwargs):  # DNS is the edge here: the name answers with a NAT64 form of 10.0.0.1
        return [(10, 1, 6, "", ("64:ff9b::a00:1", 0, 0, 0))]

    monkeypatch.setattr("socket.getaddrinfo", resolve)
    with pytest.raises(UnsafeURL, match="private"):
        validate_connection_url("https://jira.example.com", allow_private=False)


def test_a_kept_alive_connection_the_server_closed_is_replaced_before_a_write_goes_out(settings):
    """Writing on a socket the server already closed would leave the write ambiguous (sent, no answer)."""
    settings.ALLOW_PRIVATE_URLS = True
    listener = socket.create_server(("127.0.0.1", 0))
    answered = []

    def serve():
        for _ in range(2):  # each connection answers one request, then the server closes it
            conn, _ = listener.accept()
            with conn:
                request = conn.recv(65536)
                answered.append(request.split(b" ", 2)[:2])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    connection = GuardedConnection(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=5, connect_timeout=5,
                                   tls=ssl.create_default_context())
    try:
        assert connection.request("GET", "/me", body=None, headers={})[0] == 200
        for _ in range(50):  # until the server's close has reached us
            if not connection._idle_and_open():
                break
            threading.Event().wait(0.01)
        assert connection.request("POST", "/reply", body=b"{}", headers={})[0] == 200
    finally:
        connection.close()
        listener.close()
    assert answered == [[b"GET", b"/me"], [b"POST", b"/reply"]]

"""The production front (deploy/): nginx from the distribution in front of gunicorn as the Procfile runs it.

gunicorn's threads read request bodies themselves, so clients that send their body slowly hold them; nginx
reads each body whole first. These tests run the shipped deploy/nginx/connector.conf (only the values its
ADAPT comments name are replaced) on loopback ports, with its own prefix, pid and temp paths.
"""

import datetime
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from connector.models import WebhookEvent
from connector.signatures import sign
from sandbox.processes import free_port
from tests.conftest import REPO, wait_for, worker_env
from tests.factories import JiraSiteFactory
from tests.webhooks import jira_sample

pytestmark = [pytest.mark.front, pytest.mark.django_db(transaction=True)]

NGINX_CONF = REPO / "deploy" / "nginx" / "connector.conf"
SAMPLE = "webhook-server-comment-created.json"
SLOW_CLIENTS = 50
SLOW_CHUNKS = 16  # each slow body arrives in this many pieces…
SLOW_INTERVAL = 0.5  # …this far apart: about 8 s per body, within nginx's client_body_timeout between reads


def _procfile_command(name: str) -> str:
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.partition(":")[2].strip()
    raise AssertionError(f"the Procfile has no {name} line")


class Gunicorn:
    """The Procfile's web line, on a loopback port, against the test database."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.log = tmp / "gunicorn.log"
        self.env = worker_env(
            settings.DATABASES["default"]["NAME"],
            PORT=str(self.port),
            WEB_BIND=f"127.0.0.1:{self.port}",
            VAR_DIR=str(tmp / "var"),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )

    def __enter__(self):
        self._fh = self.log.open("w")
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {_procfile_command('web')}"],
            cwd=REPO,
            env=self.env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: self.proc.poll() is not None or _answers(self.port), timeout=30, message="gunicorn")
        assert self.proc.poll() is None, f"gunicorn did not start:\n{self.log.read_text()[-3000:]}"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()


class Nginx:
    """deploy/nginx/connector.conf inside a minimal nginx.conf, as an unprivileged process of this test."""

    def __init__(self, tmp: Path, upstream_port: int):
        self.binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
        )
        if self.binary is None:  # a missing service fails loudly, never skips
            pytest.fail("nginx is not installed: `apt-get install -y nginx` (`make test` installs it when it can).")
        self.prefix = tmp / "nginx"
        self.static = tmp / "static"
        self.http_port, self.https_port = free_port(), free_port()
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / "temp" / sub).mkdir(parents=True)
        self.static.mkdir()
        cert, key = _self_signed_certificate(self.prefix)
        site = NGINX_CONF.read_text()
        for shipped, ours in {
            "listen 80;": f"listen 127.0.0.1:{self.http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
            "/etc/letsencrypt/live/connector.example.com/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/connector.example.com/privkey.pem": str(key),
            "/srv/connector/var/static/": f"{self.static}/",
            "root /var/www/html;": f"root {self.static};",
        }.items():
            assert shipped in site, f"connector.conf no longer has {shipped!r}; update this test with it"
            site = site.replace(shipped, ours)
        (self.prefix / "connector.conf").write_text(site)
        temp = self.prefix / "temp"
        (self.prefix / "nginx.conf").write_text(
            f"""
            user {pwd.getpwuid(os.geteuid()).pw_name};  # read only when started as root (CI); ignored otherwise
            worker_processes 1;
            daemon off;
            pid {self.prefix}/nginx.pid;
            error_log {self.prefix}/error.log warn;
            events {{ worker_connections 1024; }}
            http {{
                include /etc/nginx/mime.types;
                default_type application/octet-stream;
                access_log {self.prefix}/access.log;
                client_body_temp_path {temp}/client_body;
                proxy_temp_path {temp}/proxy;
                fastcgi_temp_path {temp}/fastcgi;
                uwsgi_temp_path {temp}/uwsgi;
                scgi_temp_path {temp}/scgi;
                include {self.prefix}/connector.conf;
            }}
            """
        )

    def __enter__(self):
        command = [
            self.binary,
            "-p",
            str(self.prefix),
            "-c",
            str(self.prefix / "nginx.conf"),
            "-e",
            str(self.prefix / "error.log"),
        ]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx refuses the configuration:\n{check.stderr}"
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or _listening(self.https_port), timeout=15, message="nginx")
        assert self.proc.poll() is None, f"nginx did not start:\n{(self.prefix / 'error.log').read_text()}"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()  # SIGTERM: fast shutdown of the master and its worker
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE  # our own throwaway certificate


def _connect(port: int, *, tls: bool, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return _TLS.wrap_socket(sock) if tls else sock


def _signed_request(site, body: bytes, delivery_id: str) -> tuple[bytes, bytes]:
    """The request head, and the body, of one signed Jira webhook."""
    head = (
        f"POST /webhooks/jira/{site.public_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Hub-Signature: {sign(body, site.webhook_secret, algorithm='sha256')}\r\n"
        f"X-Atlassian-Webhook-Identifier: {delivery_id}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head, body


def _status(sock: socket.socket) -> int:
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response.status


class SlowClients:
    """Connections that each send a signed webhook's head at once, then its body a piece at a time."""

    def __init__(self, port: int, *, tls: bool, site, count: int):
        self.port, self.tls, self.site = port, tls, site
        self.ids = [f"slow-{uuid.uuid4()}" for _ in range(count)]
        self.socks: list[socket.socket] = []
        self.statuses: list[int | str] = []
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self):
        body = json.dumps(jira_sample(SAMPLE)).encode()
        size = -(-len(body) // SLOW_CHUNKS)
        self.requests = [_signed_request(self.site, body, delivery_id) for delivery_id in self.ids]
        self.chunks = [body[i : i + size] for i in range(0, len(body), size)]
        for head, _ in self.requests:
            sock = _connect(self.port, tls=self.tls, timeout=30)
            sock.sendall(head + self.chunks[0])
            self.socks.append(sock)
        self._thread.start()
        return self

    def _trickle(self):
        for chunk in self.chunks[1:]:
            time.sleep(SLOW_INTERVAL)
            for sock in self.socks:
                sock.sendall(chunk)
        for sock in self.socks:
            try:
                self.statuses.append(_status(sock))
            except OSError as exc:
                self.statuses.append(type(exc).__name__)

    def sending(self) -> bool:
        return self._thread.is_alive()

    def __exit__(self, *exc):
        self._thread.join(timeout=60)
        for sock in self.socks:
            sock.close()


def _timed_webhook(port: int, *, tls: bool, site, delivery_id: str, timeout: float) -> tuple[int | str, float]:
    """Post one signed webhook on a fresh connection, as Jira does; its status (or error) and how long it took."""
    head, body = _signed_request(site, json.dumps(jira_sample(SAMPLE)).encode(), delivery_id)
    started = time.monotonic()
    try:
        with _connect(port, tls=tls, timeout=timeout) as sock:
            sock.sendall(head + body)
            status = _status(sock)
    except OSError as exc:  # socket.timeout included
        status = type(exc).__name__
    return status, time.monotonic() - started


@pytest.fixture
def front(tmp_path, transactional_db):
    with Gunicorn(tmp_path) as gunicorn, Nginx(tmp_path, gunicorn.port) as nginx:
        yield gunicorn, nginx


def test_signed_webhooks_are_answered_within_a_second_while_50_clients_send_slowly(front):
    _, nginx = front
    site = JiraSiteFactory()
    answered = []
    with SlowClients(nginx.https_port, tls=True, site=site, count=SLOW_CLIENTS) as slow:
        while slow.sending():
            delivery_id = f"fast-{uuid.uuid4()}"
            status, seconds = _timed_webhook(nginx.https_port, tls=True, site=site, delivery_id=delivery_id, timeout=2)
            answered.append((delivery_id, status, round(seconds, 3)))
            time.sleep(0.2)
    assert len(answered) >= 10, answered  # they really were sent while the slow bodies were arriving
    assert [(status, seconds < 1.0) for _, status, seconds in answered] == [(202, True)] * len(answered), answered
    # The slow senders lose nothing either: nginx hands each body on once it is whole.
    assert slow.statuses == [202] * SLOW_CLIENTS
    stored = set(WebhookEvent.objects.filter(site=site).values_list("delivery_id", flat=True))
    assert stored == {delivery_id for delivery_id, _, _ in answered} | set(slow.ids)


def test_the_front_refuses_an_oversized_webhook_with_a_json_reason_and_serves_static_files(front):
    gunicorn, nginx = front
    site = JiraSiteFactory()
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    assert re.search(rf"client_max_body_size {limit // (1024 * 1024)}m;", NGINX_CONF.read_text())
    assert f"limit of {limit} bytes" in NGINX_CONF.read_text()
    connection = http.client.HTTPSConnection("127.0.0.1", nginx.https_port, timeout=10, context=_TLS)
    connection.request(
        "POST",
        f"/webhooks/jira/{site.public_id}",
        body=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"error": f"The body is larger than the limit of {limit} bytes."}

    (nginx.static / "app.css").write_text("body { color: black; }")
    connection.request("GET", "/static/app.css")
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"body { color: black; }")

    # Plain HTTP is sent to HTTPS with the method kept; pages reach gunicorn with the scheme forwarded.
    plain = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    plain.request("POST", "/webhooks/jira/x", body=b"{}")
    response = plain.getresponse()
    assert (response.status, response.getheader("Location")) == (308, "https://127.0.0.1/webhooks/jira/x")
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    assert re.search(r'"GET /healthz" 200', gunicorn.log.read_text())

"""A small threaded HTTP server that the vendor simulators build on.

One thread per connection (HTTP/1.1 keep-alive), so injected latency overlaps instead of queueing. The
request pipeline is fixed here — control plane, routing, auth, admission (rate limits), latency, spec
validation, faults, handler, hang-ups — and each simulator fills in the vendor-specific hooks.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.contracts import SpecValidator, load_spec

JSON = "application/json"
log = logging.getLogger(__name__)


class Request:
    """An incoming request, decoded once."""

    def __init__(self, method: str, target: str, headers: Any, body: bytes) -> None:
        split = urlsplit(target)
        self.method = method.upper()
        self.path = split.path
        self.query: dict[str, list[str]] = parse_qs(split.query, keep_blank_values=True)
        self.headers = headers  # email.message.Message: case-insensitive .get()
        self.body = body
        self.params: dict[str, str] = {}
        self.arrived_at = time.time()
        self._json: Any = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if self._json is None:
            try:
                self._json = json.loads(self.body or b"null")
            except ValueError as exc:
                raise HttpError(400, f"body is not JSON: {exc}") from exc
        return self._json


class Response:
    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        self.headers.setdefault("Content-Type", JSON)
        return json.dumps(self.body).encode()


class HttpError(Exception):
    """Raised by handlers; turned into the simulator's vendor-shaped error body."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    write: bool
    regex: re.Pattern[str]
    names: list[str]


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, write: bool = False) -> None:
        names = re.findall(r"\{([^/}]+)\}", template)
        parts = re.split(r"(\{[^/}]+\})", template)
        pattern = "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        regex = re.compile(f"^{pattern}$")
        self._routes.append(Route(method.upper(), template, handler, write, regex, names))
        # Literal routes before parameterised ones (`/conversations/search` before `/conversations/{id}`).
        self._routes.sort(key=lambda r: r.template.count("{"))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method:
                found = route.regex.match(path)
                if found:
                    return route, {n: unquote(v) for n, v in zip(route.names, found.groups(), strict=True)}
        return None


@dataclass
class Faults:
    """Injected misbehaviour; all fields settable through `/_sim/faults`."""

    latency: float = 0.0  # seconds added to every API request, concurrently
    error_rate: float = 0.0  # probability of a random 5xx
    error_status: int = 503
    fail_next: int = 0  # the next N API requests fail with fail_status
    fail_status: int = 500
    throttle_until: float = 0.0  # unix time; 429 until then regardless of budget
    forbidden: bool = False  # every API request gets 403
    hang_after_next: int = 0  # next N writes are applied, then the connection hangs and drops
    hang_before_next: int = 0  # next N writes hang and drop without being applied
    hang_seconds: float = 30.0
    # A gateway in front of the vendor: the write is applied, the answer lost and replaced.
    drop_after_next: int = 0  # next N writes are applied, then the connection closes without an answer
    fail_after_next: int = 0  # next N writes are applied, then answered with write_error_status
    write_error_rate: float = 0.0  # probability that an applied write is answered with write_error_status
    write_error_status: int = 502

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise HttpError(400, f"unknown fault {name!r}")
            setattr(self, name, type(getattr(self, name))(value))


class _Hang(Exception):
    pass


class SimServer:
    """Base of the simulators: lifecycle, pipeline, control plane, violations and stats."""

    spec_name: str | None = None

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0,
                 validate: bool = True, validate_every: int = 1) -> None:
        self.host = host
        self.port = port
        self.router = Router()
        self.control = Router()
        self.lock = threading.RLock()
        self.faults = Faults(latency=latency)
        self.spec: SpecValidator | None = load_spec(self.spec_name) if validate and self.spec_name else None
        self.violations: list[dict[str, Any]] = []
        self.unvalidated: Counter[str] = Counter()
        # Benchmarks check the first call of each operation and every Nth after: checking each of ten thousand
        # identical notes costs the shared machine twice the CPU of the worker under test. Tests check all.
        self.validate_every = max(1, validate_every)
        self._operation_calls: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._add_base_controls()

    # ----- lifecycle
    @property
    def validation_enabled(self) -> bool:
        return self.spec is not None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("simulator not started")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> SimServer:
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hung requests
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (used by `python -m sandbox`)."""
        try:
            while not self._stopping.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # ----- hooks for the vendors
    def error(self, status: int, message: str, code: str | None = None) -> Response:
        return Response(status, {"error": message, "code": code})

    def authenticate(self, request: Request) -> Response | None:
        return None

    def admit(self, request: Request) -> Response | None:
        """Rate limiting; called once per authenticated request on arrival, before latency."""
        return None

    def finish(self, request: Request, response: Response) -> None:
        """Add headers every authenticated response carries."""

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.violations.clear()
            self.unvalidated.clear()
            self.status_counts.clear()

    # ----- pipeline
    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sim/"):
            return self._run(self.control, request) or self.error(404, f"no control route {request.path}")
        response = self._dispatch_api(request)
        with self.lock:
            self.status_counts[response.status] += 1
        return response

    def _dispatch_api(self, request: Request) -> Response:
        matched = self.router.match(request.method, request.path)
        if matched is None:
            return self.error(404, f"Resource Not Found: {request.method} {request.path}", "not_found")
        route, request.params = matched
        faults = self.faults
        refusal = self.authenticate(request)
        if refusal is not None:
            return refusal
        refusal = self.admit(request)
        if refusal is None and faults.forbidden:
            refusal = self.error(403, "Forbidden", "forbidden")
        if refusal is None:
            if faults.latency > 0:
                time.sleep(faults.latency)
            refusal = self._validate(request, route)
        if refusal is None:
            refusal = self._injected_failure()
        if refusal is None and route.write and self._take("hang_before_next"):
            self._stopping.wait(self.faults.hang_seconds)
            raise _Hang
        if refusal is not None:
            self.finish(request, refusal)
            return refusal
        response = self._call(route.handler, request)
        if route.write and 200 <= response.status < 300:
            response = self._after_write(response)
        self.finish(request, response)
        return response

    def _after_write(self, response: Response) -> Response:
        """Faults that strike once the write is applied: the client cannot tell whether it was."""
        faults = self.faults
        if self._take("hang_after_next"):
            self._stopping.wait(faults.hang_seconds)
            raise _Hang
        if self._take("drop_after_next"):
            raise _Hang
        if self._take("fail_after_next") or (faults.write_error_rate and random.random() < faults.write_error_rate):
            return self.error(faults.write_error_status, "Injected gateway failure after the write", "server_error")
        return response

    def _call(self, handler: Handler, request: Request) -> Response:
        try:
            return handler(request)
        except HttpError as exc:
            return self.error(exc.status, exc.message, exc.code)

    def _run(self, router: Router, request: Request) -> Response | None:
        matched = router.match(request.method, request.path)
        if matched is None:
            return None
        route, request.params = matched
        try:
            return route.handler(request)
        except HttpError as exc:
            return Response(exc.status, {"error": exc.message})

    def _take(self, counter: str) -> bool:
        with self.lock:
            left = getattr(self.faults, counter)
            if left > 0:
                setattr(self.faults, counter, left - 1)
                return True
        return False

    def _injected_failure(self) -> Response | None:
        faults = self.faults
        if self._take("fail_next"):
            return self.error(faults.fail_status, "Injected failure", "server_error")
        if faults.error_rate and random.random() < faults.error_rate:
            return self.error(faults.error_status, "Injected random failure", "server_error")
        return None

    def _validate(self, request: Request, route: Route) -> Response | None:
        if self.spec is None:
            return None
        operation = self.spec.find(request.method, request.path)
        if operation is None:
            with self.lock:
                self.unvalidated[f"{request.method} {route.template}"] += 1
            return None
        key = f"{request.method} {operation.template}"
        with self.lock:
            calls = self._operation_calls[key]
            self._operation_calls[key] += 1
        if calls % self.validate_every:
            return None
        problems = self.spec.validate(request.method, request.path, operation, request.query, request.headers,
                                      request.body, request.headers.get("Content-Type", ""))
        if not problems:
            return None
        with self.lock:
            self.violations.append({"method": request.method, "path": request.path,
                                    "operation": operation.template, "problems": problems,
                                    "at": request.arrived_at})
        return self.error(400, "Request does not match the API contract: " + "; ".join(problems),
                          "parameter_invalid")

    # ----- control plane
    def _add_base_controls(self) -> None:
        add = self.control.add
        add("GET", "/_sim/health", lambda r: Response(200, {"ok": True,
                                                            "validation": self.validation_enabled}))
        add("POST", "/_sim/reset", lambda r: (self.reset(), Response(200, {"ok": True}))[1])
        add("GET", "/_sim/faults", lambda r: Response(200, asdict(self.faults)))
        add("POST", "/_sim/faults", self._control_faults)
        add("GET", "/_sim/violations", lambda r: Response(200, list(self.violations)))
        add("GET", "/_sim/stats", lambda r: Response(200, self.stats()))

    def _control_faults(self, request: Request) -> Response:
        with self.lock:
            self.faults.update(request.json() or {})
        return Response(200, asdict(self.faults))

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"statuses": {str(k): v for k, v in self.status_counts.items()},
                    "violations": len(self.violations), "unvalidated": dict(self.unvalidated),
                    "validation": self.validation_enabled}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True


def _make_handler(sim: SimServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sandbox"
        timeout = 120  # idle keep-alive connections are dropped after this
        disable_nagle_algorithm = True  # else small responses wait ~40 ms for a delayed ACK

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, self.headers, body)
            try:
                response = sim.dispatch(request)
            except _Hang:
                self.close_connection = True
                return
            except Exception as exc:  # a simulator bug must show up as a loud 500, not a dropped connection
                log.exception("sandbox: %s %s failed", self.command, self.path)
                response = Response(500, {"error": f"sandbox bug: {type(exc).__name__}: {exc}"})
            payload = response.encoded()
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self._headers_buffer.append(b"\r\n" + payload)  # headers and body in one segment
            self.flush_headers()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler


class SimControl:
    """Client of a simulator's control plane, for benchmarks that run it in another process."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def call(self, method: str, path: str, data: Any = None) -> Any:
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{self.url}/_sim/{path.lstrip('/')}", data=body, method=method, headers={"Content-Type": JSON})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return json.loads(response.read() or b"null")

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, data: Any = None) -> Any:
        return self.call("POST", path, data if data is not None else {})

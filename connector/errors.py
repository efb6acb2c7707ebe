"""How a vendor call failed, classified once at the edge so callers decide without knowing HTTP.

Both clients hand their outcomes here: `error_for_status` for an answer with a failing status,
`error_for_transport` for a call that got no answer. Neither module imports an HTTP library: the clients
say whether the request had left (they know their library's exceptions), this module says what it means.
"""

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from enum import StrEnum


class VendorErrorKind(StrEnum):
    """What a caller may do about a failed vendor call (a StrEnum: `kind == "not_found"` still holds)."""

    AUTH = "auth"  # 401/403: the connection is broken (token revoked, app user lost access); hold, tell admins
    RATE_LIMITED = "rate_limited"  # 429: wait until `retry_at` (unix seconds) and try again
    TRANSIENT = "transient"  # 5xx, timeouts, connection errors: back off with jitter and retry
    AMBIGUOUS = "ambiguous"  # a write may have been applied (no answer, or a gateway's 5xx): check first
    NOT_FOUND = "not_found"  # 404: the object is gone (deleted conversation or issue)
    PERMANENT = "permanent"  # other 4xx: retrying will not help; record and show


RETRYABLE_KINDS = frozenset({VendorErrorKind.RATE_LIMITED, VendorErrorKind.TRANSIENT, VendorErrorKind.AMBIGUOUS})
UNREACHABLE_KINDS = frozenset({VendorErrorKind.TRANSIENT, VendorErrorKind.AMBIGUOUS})
# Answers a gateway (load balancer, proxy) gives when the vendor behind it was slow or went away: the vendor may
# have applied the request all the same. A 500 comes from the vendor itself, which failed the request.
GATEWAY_STATUSES = frozenset({502, 503, 504})


class VendorError(Exception):
    """A failed call to Jira or Intercom; `kind` (a VendorErrorKind) says what the caller may do about it."""

    def __init__(
        self,
        message: str,
        *,
        kind: VendorErrorKind | str,
        status: int | None = None,
        retry_at: float | None = None,
        field_errors: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.kind = VendorErrorKind(kind)
        self.status = status
        self.retry_at = retry_at
        # The vendor's per-field complaints (Jira's `errors: {field: message}`), for forms to show by the field.
        self.field_errors = dict(field_errors or {})

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    @property
    def unreachable(self) -> bool:
        """The vendor did not answer (transient or ambiguous): says nothing about credentials or the request."""
        return self.kind in UNREACHABLE_KINDS

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message


def kind_for_status(status: int) -> VendorErrorKind:
    if status in (401, 403):
        return VendorErrorKind.AUTH
    if status == 429:
        return VendorErrorKind.RATE_LIMITED
    if status == 404:
        return VendorErrorKind.NOT_FOUND
    if status in (408, 409, 425) or status >= 500:
        return VendorErrorKind.TRANSIENT
    return VendorErrorKind.PERMANENT


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def retry_at_from_headers(headers: Mapping[str, str] | None, *, status: int) -> float | None:
    """When the call may be tried again (unix seconds), from the answer's headers, or None.

    A 429 names the end of its window in X-RateLimit-Reset (Intercom: unix seconds); Retry-After (Jira: seconds
    to wait, or an HTTP date) counts whatever status it comes with (429, 503).
    """
    if not headers:
        return None
    if status == 429:
        try:
            return float(_header(headers, "X-RateLimit-Reset"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
    raw = _header(headers, "Retry-After")
    if not raw:
        return None
    try:
        return time.time() + float(raw)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None


def error_for_status(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    safe_to_repeat: bool = True,
    field_errors: Mapping[str, str] | None = None,
) -> VendorError:
    """The VendorError for an answer with a failing status (`message`: the vendor's words, or a fallback).

    A gateway's 502/503/504 can come after the vendor applied the request, so for a write that is not safe to
    repeat it is ambiguous (check before resending), as a timeout after sending is.
    """
    kind = kind_for_status(status)
    if status in GATEWAY_STATUSES and not safe_to_repeat:
        kind = VendorErrorKind.AMBIGUOUS
    return VendorError(
        message,
        kind=kind,
        status=status,
        retry_at=retry_at_from_headers(headers, status=status),
        field_errors=field_errors,
    )


def error_for_transport(*, sent: bool, unreachable: str, no_answer: str, safe_to_repeat: bool = False) -> VendorError:
    """The VendorError for a call that got no answer.

    Before sending (refused, unresolvable, connect timeout) a retry is safe: transient. After sending (read
    timeout, dropped connection) a write may have been applied: ambiguous, unless the request is safe to repeat
    (a read), which is transient again.
    """
    if not sent:
        return VendorError(unreachable, kind=VendorErrorKind.TRANSIENT)
    kind = VendorErrorKind.TRANSIENT if safe_to_repeat else VendorErrorKind.AMBIGUOUS
    return VendorError(no_answer, kind=kind)

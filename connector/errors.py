"""How a vendor call failed, classified once at the edge so callers decide without knowing HTTP."""


class VendorError(Exception):
    """A failed call to Jira or Intercom.

    kind:
    - "auth": 401/403 — the connection is broken (token revoked, app user lost access); hold work, tell admins.
    - "rate_limited": 429 — wait until `retry_at` (unix seconds) and try again.
    - "transient": 5xx, timeouts, connection errors — back off with jitter and retry.
    - "ambiguous": the request may have reached the vendor (timeout after sending) — check before resending.
    - "not_found": 404 — the object is gone (deleted conversation or issue).
    - "permanent": other 4xx — retrying will not help; record and show.
    """

    def __init__(self, message: str, *, kind: str, status: int | None = None, retry_at: float | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_at = retry_at

    @property
    def retryable(self) -> bool:
        return self.kind in {"rate_limited", "transient", "ambiguous"}

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message


def kind_for_status(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status == 404:
        return "not_found"
    if status in (408, 409, 425) or status >= 500:
        return "transient"
    return "permanent"

"""Webhook signature checks over the raw request body, in constant time."""

import hashlib
import hmac

_ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}


def hub_signature_valid(header: str | None, body: bytes, secret: str, *, algorithm: str) -> bool:
    """`X-Hub-Signature: <method>=<hex>` (WebSub), as Jira (sha256) and Intercom (sha1) send it.

    The method must be the one we expect; anything else is refused rather than downgraded. A header that is
    not ASCII cannot be a hex digest (and `compare_digest` raises on non-ASCII text).
    """
    if not header or not secret or not header.isascii():
        return False
    method, _, received = header.strip().partition("=")
    if method.lower() != algorithm or not received:
        return False
    expected = hmac.new(secret.encode(), body, _ALGORITHMS[algorithm]).hexdigest()
    return hmac.compare_digest(expected, received.strip().lower())


def body_signature_valid(header: str | None, body: bytes, secret: str) -> bool:
    """Intercom Canvas Kit: `X-Body-Signature: <hex HMAC-SHA256>` with no method prefix."""
    if not header or not secret or not header.isascii():
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())


def sign(body: bytes, secret: str, *, algorithm: str = "sha256") -> str:
    """The header value a sender would compute; for webhook registration help and tests."""
    return f"{algorithm}=" + hmac.new(secret.encode(), body, _ALGORITHMS[algorithm]).hexdigest()

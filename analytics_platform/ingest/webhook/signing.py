"""Fivetran's webhook signature: the HMAC-SHA256 of the raw body under the webhook secret."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Fivetran-Signature-256"


def signature(body: bytes, secret: str) -> str:
    """Fivetran's signature of a body: hex HMAC-SHA256 under the webhook secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of the signature header (hex case does not matter)."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().lower(), signature(body, secret))

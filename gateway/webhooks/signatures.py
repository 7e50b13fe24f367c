"""LinkedIn's webhook validation and push signatures. Pure.

shared/api-guide/webhook-validation: LinkedIn validates an endpoint with
``GET <webhook>?challengeCode=<uuid>`` and expects, within 3 seconds, 200 and JSON
``{"challengeCode": ..., "challengeResponse": hex(HMAC-SHA256(key=client_secret,
msg=challengeCode))}``. Every push carries ``X-LI-Signature``: the hex HMAC-SHA256, keyed
by the client secret, of ``"hmacsha256=" + raw body``.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-LI-Signature"
SIGNED_PREFIX = b"hmacsha256="


def challenge_response(client_secret: str, challenge_code: str) -> str:
    """The hex HMAC-SHA256 of ``challenge_code`` keyed by the app's client secret."""
    return hmac.new(client_secret.encode(), challenge_code.encode(), hashlib.sha256).hexdigest()


def push_signature(client_secret: str, body: bytes) -> str:
    """The ``X-LI-Signature`` LinkedIn sends with ``body``."""
    return hmac.new(client_secret.encode(), SIGNED_PREFIX + body, hashlib.sha256).hexdigest()


def signature_valid(client_secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the push signature of ``body``.

    Compared in constant time (``hmac.compare_digest``) so response timing reveals nothing
    about the expected value. Hex case is ignored; a ``hmacsha256=`` prefix on the header
    value, which some senders add, is accepted.
    """
    if header is None:
        return False
    given = header.strip().lower().removeprefix("hmacsha256=")
    if not given.isascii():
        return False
    return hmac.compare_digest(given, push_signature(client_secret, body))

"""What a token source knows about a token, and the interface every source keeps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def token_digest(token: str) -> str:
    """SHA-256 hex of a token: the only form in which a token is ever stored or compared."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """The facts behind a bearer token.

    ``digest`` is the token's SHA-256; the token itself is never kept.
    """

    digest: str
    app: str
    member: str | None
    scopes: frozenset[str]
    expires_at: float | None

    @property
    def log_id(self) -> str:
        # A short digest prefix identifies a token in logs without revealing it.
        return self.digest[:12]

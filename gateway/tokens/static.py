"""The static token source: tokens listed in gateway.yaml, by SHA-256 only."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.settings.model import StaticToken
from gateway.tokens.model import TokenInfo, token_digest


class StaticTokenSource:
    def __init__(self, tokens: Iterable[StaticToken]) -> None:
        self._by_digest = {
            t.digest: TokenInfo(t.digest, t.app, t.member, t.scopes, t.expires_at) for t in tokens
        }

    async def lookup(self, token: str) -> TokenInfo | None:
        return self._by_digest.get(token_digest(token))

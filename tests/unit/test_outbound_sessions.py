"""Every outbound session of the gateway keeps no cookies (see outbound_session)."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from gateway.support.client_session import outbound_session

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
HOME = GATEWAY / "support" / "client_session.py"


async def test_an_outbound_session_has_no_cookie_jar() -> None:
    async with outbound_session() as session:
        assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
        assert session.timeout == aiohttp.client.DEFAULT_TIMEOUT


def test_every_session_is_made_by_outbound_session() -> None:
    # A session made elsewhere would come with aiohttp's default jar.
    makers = [
        str(path.relative_to(GATEWAY))
        for path in GATEWAY.rglob("*.py")
        if path != HOME and re.search(r"\bClientSession\(", path.read_text())
    ]
    assert makers == []

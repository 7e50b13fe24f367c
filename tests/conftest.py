"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for the whole run: REDIS_URL, or a private redis-server.

    The server may be shared: use key spaces of your own (``redis_server.unique_app``)
    and never flush it.
    """
    with redis_server.redis_url() as url:
        yield url

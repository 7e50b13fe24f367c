"""The burst through three gateway processes, on a real 3-master Redis Cluster: exactly the
Development tier's 100 calls admitted, the rest refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional.test_quota_exactness import (
    burst,
    check_exact,
    gateway_processes,
    sandbox_requests,
)
from tests.redis_topologies import redis_cluster

pytestmark = pytest.mark.redis


async def test_burst_through_three_gateway_processes_on_a_redis_cluster(tmp_path: Path) -> None:
    with (
        redis_cluster() as cluster,
        gateway_processes(tmp_path, cluster.url + "?socket_timeout=5") as (upstream, urls),
    ):
        check_exact(await burst(urls))
        assert await sandbox_requests(upstream) == 100

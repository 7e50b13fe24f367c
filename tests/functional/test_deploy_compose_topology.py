"""deploy/compose.yaml's topology run as real processes: the sandbox service, two gateway
replicas with the compose file's commands, environment and mounted config, one Redis.

Container names become loopback addresses and fixed ports become free ones; everything
else is taken from the compose file as written. The replicas must share the quota: a
member's ten Development-tier calls are ten across both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.functional.cli_process import API, STOP_SECONDS, Serving, clean_env, get, serving
from tests.redis_server import PATIENT, with_query

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"


@contextmanager
def sandbox_service(command: list[str]) -> Iterator[str]:
    """The compose sandbox service's command on a free loopback port; yields its URL."""
    args = [*command[1:]]
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # The first line names the bound port; readline is bounded by the test timeout.
        line = proc.stdout.readline()
        assert "LinkedIn sandbox listening on http://127.0.0.1:" in line, line
        yield line.split(" on ", 1)[1].split(" ", 1)[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return services


def test_two_replicas_share_one_quota_through_the_compose_setup(
    redis_url: str, tmp_path: Path
) -> None:
    services = compose_services()
    sandbox = next(s for s in services.values() if s.get("command", [""])[:2] == [
        "linkedin-gateway", "sandbox"])  # fmt: skip
    replicas = [s for s in services.values() if s.get("command", [""])[:2] == [
        "linkedin-gateway", "serve"]]  # fmt: skip
    assert len(replicas) == 2
    suffix = uuid.uuid4().hex[:10]
    apps = ("acme-social", "acme-ads")
    store = with_query(redis_url, PATIENT)
    client = redis.Redis.from_url(redis_url)
    with ExitStack() as stack:
        sandbox_url = stack.enter_context(sandbox_service(sandbox["command"]))
        running: list[Serving] = []
        for replica in replicas:
            command = list(replica["command"])
            mounted = command[command.index("--config") + 1]
            (volume,) = [v for v in replica["volumes"] if v.split(":")[1] == mounted]
            text = (COMPOSE.parent / volume.split(":")[0]).read_text(encoding="utf-8")
            document = yaml.safe_load(text.replace("http://sandbox:8090", sandbox_url))
            # Apps of their own: their keys are this test's alone on a shared Redis.
            assert set(document["apps"]) == set(apps)
            document["apps"] = {f"{k}-{suffix}": v for k, v in document["apps"].items()}
            for token in document["tokens"]:
                token["app"] = f"{token['app']}-{suffix}"
            config = tmp_path / f"gateway-{len(running)}.yaml"
            config.write_text(yaml.safe_dump(document), encoding="utf-8")
            command[command.index("--config") + 1] = str(config)
            env = dict(replica["environment"])
            assert env["GATEWAY_UPSTREAM"] == "http://sandbox:8090"
            assert env["GATEWAY_STORE"].startswith("redis://redis:")
            env.update(
                GATEWAY_LISTEN="127.0.0.1:0",
                GATEWAY_ADMIN_LISTEN="127.0.0.1:0",
                GATEWAY_UPSTREAM=sandbox_url,
                GATEWAY_STORE=store,
            )
            running.append(stack.enter_context(serving(command[2:], clean_env(**env))))
        try:
            urls = [f"http://127.0.0.1:{r.port}{API}" for r in running]
            statuses = [get(urls[i % 2], "demo-alice")[0] for i in range(10)]
            assert statuses == [200] * 10
            for url in urls:
                status, body = get(url, "demo-alice")
                assert status == 429, body
                assert "APPLICATION_AND_MEMBER DAY" in json.loads(body)["message"]
            # The Standard-tier app is counted, never refused, on both.
            assert [get(url, "demo-carol")[0] for url in urls] == [200, 200]
        finally:
            for app in apps:
                keys = list(client.scan_iter(match=f"lgw:{{{app}-{suffix}}}*", count=1000))
                if keys:
                    client.delete(*keys)
            client.close()
    assert all(r.proc.returncode == 0 for r in running)

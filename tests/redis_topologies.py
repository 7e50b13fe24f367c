"""Real Redis topologies for tests: a 3-master Cluster, a master with a replica and a
Sentinel. Each starts its own ``redis-server`` processes on free ports in a temporary
directory and stops them; tests that need one are skipped when redis-server or redis-cli
is not on PATH.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.redis_server import free_port

START_SECONDS = 15.0


def _binaries() -> tuple[str, str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("needs redis-server and redis-cli on PATH")
    return server, cli


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = random.randint(20_000, 55_000)
        if _free(port) and _free(port + 10_000):
            return port
    raise AssertionError("no free port pair for a cluster node")


def _ask(port: int, *command: str) -> str:
    """One inline command to 127.0.0.1:``port``; its reply's text ('' when unreachable)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
            conn.sendall((" ".join(command) + "\r\n").encode())
            return conn.recv(65_536).decode(errors="replace")
    except OSError:
        return ""


def wait_until(check: object, what: str, seconds: float = START_SECONDS) -> None:
    """Poll a local process's state until ``check()`` is true; fail past ``seconds``."""
    assert callable(check)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        # Polling processes this test started; the deadline bounds the wait.
        time.sleep(0.05)
    raise AssertionError(f"{what} within {seconds} s")


@dataclass
class Processes:
    directory: Path
    running: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, binary: str, port: int, *extra: str, config: str | None = None) -> None:
        workdir = self.directory / str(port)
        workdir.mkdir()
        first = [config] if config else []
        # Fixed arguments, binaries from PATH: test servers, not user input.
        process = subprocess.Popen(
            [binary, *first, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.running[port] = process
        wait_until(
            lambda: process.poll() is not None or _ask(port, "PING").startswith("+PONG"),
            f"redis on {port} up",
        )
        assert process.poll() is None, f"redis-server on {port} exited with {process.returncode}"

    def kill(self, port: int) -> None:
        process = self.running[port]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Cluster:
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)


@contextlib.contextmanager
def redis_cluster(masters: int = 3) -> Iterator[Cluster]:
    """A Redis Cluster of ``masters`` masters and no replicas, every slot covered."""
    server, cli = _binaries()
    processes = Processes(Path(tempfile.mkdtemp(prefix="redis-cluster-")))
    try:
        ports: tuple[int, ...] = ()
        while len(ports) < masters:
            port = free_cluster_port()
            if port not in ports:
                ports += (port,)
        for port in ports:
            processes.start(
                server, port, "--cluster-enabled", "yes", "--cluster-config-file",
                f"nodes-{port}.conf", "--cluster-node-timeout", "2000",
            )  # fmt: skip
        created = subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, timeout=START_SECONDS, check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout.decode() + created.stderr.decode()
        wait_until(
            lambda: all("cluster_state:ok" in _ask(p, "CLUSTER", "INFO") for p in ports),
            "cluster state ok",
        )
        yield Cluster(ports)
    finally:
        processes.stop_all()


@dataclass
class SentinelSet:
    master_port: int
    replica_port: int
    sentinel_port: int
    processes: Processes
    name: str = "lgw-master"

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.name}/0"

    def master_address(self) -> str:
        return _ask(self.sentinel_port, "SENTINEL", "get-master-addr-by-name", self.name)

    def kill_master(self) -> None:
        self.processes.kill(self.master_port)


@contextlib.contextmanager
def redis_sentinel() -> Iterator[SentinelSet]:
    """A master, one replica of it, and one Sentinel (quorum 1) that fails over to the
    replica about a second after the master stops answering."""
    server, _ = _binaries()
    processes = Processes(Path(tempfile.mkdtemp(prefix="redis-sentinel-")))
    try:
        master, replica, sentinel = free_port(), free_port(), free_port()
        processes.start(server, master)
        processes.start(server, replica, "--replicaof", "127.0.0.1", str(master))
        wait_until(
            lambda: "master_link_status:up" in _ask(replica, "INFO", "replication"),
            "replica in sync",
        )
        config = processes.directory / "sentinel.conf"
        config.write_text(
            f"sentinel monitor lgw-master 127.0.0.1 {master} 1\n"
            "sentinel down-after-milliseconds lgw-master 1000\n"
            "sentinel failover-timeout lgw-master 5000\n"
            "sentinel parallel-syncs lgw-master 1\n",
            encoding="utf-8",
        )
        processes.start(server, sentinel, "--sentinel", config=str(config))
        made = SentinelSet(master, replica, sentinel, processes)
        wait_until(lambda: str(master) in made.master_address(), "sentinel watching")
        wait_until(
            lambda: "num-slaves" in _ask(sentinel, "SENTINEL", "masters")
            and str(replica) in _ask(sentinel, "SENTINEL", "replicas", "lgw-master"),
            "sentinel sees the replica",
        )
        yield made
    finally:
        processes.stop_all()

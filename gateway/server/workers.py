"""``serve --workers N``: a pre-fork parent and N worker processes on the parent's sockets.

The parent binds every listener once (a port in use stops ``serve`` before anything else
starts, as with one process, and port 0 names one port for all workers), checks the store,
then forks the workers; each runs the gateway app on its own event loop, on the inherited
listening socket, and the kernel hands each new connection to one of them. The parent
serves nothing: it forwards SIGTERM and SIGINT, reaps workers, restarts one that died and
keeps the sockets open, so a restarted worker takes over the same socket and no connection
is refused meanwhile. (SO_REUSEPORT was the alternative: a socket per worker, each with its
own accept queue, whose queued connections are reset when that worker dies, and a port any
process of the same user may join.)

Worker 0 also serves the admin listener. Metrics are prometheus-client's multiprocess mode
in a fresh directory per run, so its ``/metrics`` adds up every worker; its ``/readyz``
is ready only while every worker is (each keeps a file in the run's ``ready`` directory
while it serves and is not draining).

A worker that dies without being asked is logged and restarted, at most
``RESTARTS_ALLOWED`` times in ``RESTART_WINDOW_SECONDS``; past that the parent drains the
others and exits 1. On SIGTERM the parent exits 0 when every worker drained and exited 0,
else 1; a worker still alive ``STOP_GRACE_SECONDS`` after SIGTERM is killed (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gateway.settings.model import Settings
from gateway.support.logs import ACCESS_LOGGER, Fields

METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
RESTARTS_ALLOWED = 5
RESTART_WINDOW_SECONDS = 60.0
# Past the workers' own drain (cli.DRAIN_SECONDS), the parent stops waiting.
STOP_GRACE_SECONDS = 15.0
ADMIN_WORKER = 0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Parent to the admin worker, once it is the last one: the admin listener may close.
OTHERS_GONE = signal.SIGUSR1
# Blocked from the fork until the worker's loop handles them.
WORKER_SIGNALS = (*STOP_SIGNALS, OTHERS_GONE)

log = logging.getLogger("gateway.server.workers")


def shared_store_problem(settings: Settings) -> str | None:
    """Why ``settings`` cannot run several workers, or None. The memory store counts in
    each process apart: every worker would admit the whole quota."""
    if settings.workers > 1 and settings.store.startswith("memory:"):
        return (
            f"workers: {settings.workers} needs a shared store, and memory:// counts in each "
            "worker apart (every worker would admit the whole quota): use store: redis://... "
            "or workers: 1"
        )
    return None


@dataclass(frozen=True)
class RunDir:
    """The serve run's own directory: the workers' metric files, their ready marks and the
    lock that keeps their log writes whole."""

    path: Path

    @classmethod
    def create(cls) -> RunDir:
        path = Path(tempfile.mkdtemp(prefix="lgw-serve-"))
        (path / "metrics").mkdir()
        (path / "ready").mkdir()
        (path / "log.lock").touch()
        return cls(path)

    @property
    def metrics(self) -> Path:
        return self.path / "metrics"

    def ready_mark(self, pid: int) -> Path:
        return self.path / "ready" / str(pid)

    def ready_count(self) -> int:
        return sum(1 for _ in (self.path / "ready").iterdir())

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class LockedStderr:
    """stderr for every process of the pool: each write is whole, under an exclusive
    ``flock`` on the run's lock file, so lines of two workers never mix (a write to a pipe
    is atomic only up to PIPE_BUF bytes, and a batch of log lines is larger)."""

    def __init__(self, lock_path: Path, fd: int = 2) -> None:
        self._lock_path = lock_path
        self._fd = fd
        self._lock_fd = -1
        self._pid = -1

    def write(self, text: str) -> int:
        data = memoryview(text.encode("utf-8", "backslashreplace"))
        lock = self._lock()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        return len(text)

    def flush(self) -> None:
        """Every write is already out."""

    def _lock(self) -> int:
        # A lock belongs to an open file description: each process opens its own, or a
        # worker would share its parent's description and never exclude its siblings.
        if self._pid != os.getpid():
            self._lock_fd = os.open(self._lock_path, os.O_RDONLY | os.O_CLOEXEC)
            self._pid = os.getpid()
        return self._lock_fd


class WorkerTag(logging.Filter):
    """Names the worker on every access line (``worker=N``), so a call can be followed to
    the process that answered it."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER and isinstance(record.msg, Fields):
            record.msg["worker"] = self.index
        return True


@dataclass
class WorkerRole:
    """What a worker process knows of the pool: its number, its sockets, the run directory."""

    index: int
    expected: int
    main_sock: socket.socket
    admin_sock: socket.socket | None
    run_dir: RunDir
    doorbell: int
    # Set on OTHERS_GONE: the admin worker keeps /readyz answering until then.
    others_gone: asyncio.Event = field(default_factory=asyncio.Event)

    def serving(self) -> None:
        """Listening: counted as ready (the parent is told)."""
        self.run_dir.ready_mark(os.getpid()).touch()
        self._ring()

    def draining(self) -> None:
        """Stopping: not ready any more, before the in-flight requests are finished."""
        with contextlib.suppress(FileNotFoundError):
            self.run_dir.ready_mark(os.getpid()).unlink()
        self._ring()

    def workers_ready(self) -> tuple[int, int]:
        """(workers ready now, workers the pool runs)."""
        return self.run_dir.ready_count(), self.expected

    def accept_stop_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """Once the worker's loop handles SIGTERM and SIGINT: let them in (blocked since the
        fork, so a signal sent meanwhile is handled, not fatal)."""
        loop.add_signal_handler(OTHERS_GONE, self.others_gone.set)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)

    async def admin_last(self) -> None:
        """The admin worker, drained: wait until every other worker has exited, so the
        admin listener answers (not ready) for as long as any worker drains."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.others_gone.wait(), STOP_GRACE_SECONDS)

    def _ring(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.doorbell, b"!")


WorkerMain = Callable[[WorkerRole], int]


@dataclass
class RestartBudget:
    """At most ``allowed`` restarts in any ``window`` seconds."""

    allowed: int = RESTARTS_ALLOWED
    window: float = RESTART_WINDOW_SECONDS
    _times: deque[float] = field(default_factory=deque)

    def take(self, now: float) -> bool:
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) >= self.allowed:
            return False
        self._times.append(now)
        return True


def use_multiprocess_metrics(run_dir: RunDir) -> None:
    """Point prometheus-client at the run's directory, before any metric exists: it reads
    the variable when it is first imported, so it must not have been yet."""
    os.environ[METRICS_ENV] = str(run_dir.metrics)
    if "prometheus_client.values" in sys.modules:
        from prometheus_client import values

        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def use_locked_stderr(handler: logging.Handler, run_dir: RunDir) -> None:
    if isinstance(handler, logging.StreamHandler):
        handler.flush()
        locked: TextIO = LockedStderr(run_dir.path / "log.lock")  # type: ignore[assignment]
        handler.setStream(locked)


def use_plain_stderr(handler: logging.Handler) -> None:
    """Back to stderr itself, before the run's directory (and its lock file) goes."""
    if isinstance(handler, logging.StreamHandler):
        handler.flush()
        handler.setStream(sys.stderr)


class Pool:
    """The parent: forks the workers, forwards stop signals, reaps and restarts."""

    def __init__(
        self,
        settings: Settings,
        main_sock: socket.socket,
        admin_sock: socket.socket | None,
        run_dir: RunDir,
        worker_main: WorkerMain,
        handler: logging.Handler,
        on_ready: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count = settings.workers
        self.main_sock = main_sock
        self.admin_sock = admin_sock
        self.run_dir = run_dir
        self.worker_main = worker_main
        self.handler = handler
        self.on_ready = on_ready
        self.clock = clock
        self.slots: dict[int, int] = {}  # pid -> worker number
        self.budget = RestartBudget()
        self.stopping_since: float | None = None
        # When the workers still running after a stop are killed (None once they were).
        self.kill_at: float | None = None
        self.failed = False
        self.announced = False
        self.admin_released = False
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.bell_r, self.bell_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector = selectors.DefaultSelector()

    def run(self) -> int:
        """Until every worker exited: 0 when all drained cleanly after a stop signal."""
        selector = self.selector
        selector.register(self.wake_r, selectors.EVENT_READ)
        selector.register(self.bell_r, selectors.EVENT_READ)
        previous = signal.set_wakeup_fd(self.wake_w)
        for sig in (*STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(sig, _noted)
        try:
            for index in range(self.count):
                self._spawn(index)
            while self.slots:
                timeout = None
                if self.kill_at is not None:
                    timeout = max(0.0, self.kill_at - self.clock())
                stop_asked = False
                for key, _ in selector.select(timeout):
                    data = _drain(key.fd)
                    if key.fd == self.wake_r and any(byte in STOP_SIGNALS for byte in data):
                        stop_asked = True
                self._reap()
                if stop_asked:
                    self._stop("stop signal")
                self._release_admin()
                self._announce_when_ready()
                self._kill_when_late()
                self.handler.flush()
        finally:
            signal.set_wakeup_fd(previous)
            for sig in (*STOP_SIGNALS, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            selector.close()
            for fd in (self.wake_r, self.wake_w, self.bell_r, self.bell_w):
                os.close(fd)
        return 1 if self.failed or self.stopping_since is None else 0

    def _spawn(self, index: int) -> None:
        self.handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker; its work is seen from the outside
            os._exit(self._child(index))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)
        self.slots[pid] = index

    def _child(self, index: int) -> int:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (*STOP_SIGNALS, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            self.selector.close()
            for fd in (self.wake_r, self.wake_w, self.bell_r):
                os.close(fd)
            admin = self.admin_sock if index == ADMIN_WORKER else None
            if self.admin_sock is not None and admin is None:
                self.admin_sock.close()
            self.handler.addFilter(WorkerTag(index))
            role = WorkerRole(index, self.count, self.main_sock, admin, self.run_dir, self.bell_w)
            code = self.worker_main(role)
        except BaseException:
            log.exception("worker %d failed", index)
        finally:
            self.handler.flush()
        return code

    def _reap(self) -> None:
        while self.slots:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.slots.clear()
                return
            if pid == 0:
                return
            index = self.slots.pop(pid, None)
            if index is None:
                continue
            self._forget(pid)
            code = os.waitstatus_to_exitcode(status)
            how = f"exit {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
            if self.stopping_since is not None:
                if code != 0:
                    self.failed = True
                    log.error("worker %d (pid %d) ended with %s while draining", index, pid, how)
                else:
                    log.info("worker %d (pid %d) drained", index, pid)
                continue
            if self.budget.take(self.clock()):
                log.error("worker %d (pid %d) died (%s); restarting it", index, pid, how)
                self._spawn(index)
            else:
                log.error(
                    "worker %d (pid %d) died (%s), the %d-th restart in %g s: stopping",
                    index,
                    pid,
                    how,
                    self.budget.allowed + 1,
                    self.budget.window,
                )
                self.failed = True
                self._stop("workers keep dying")

    def _forget(self, pid: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.run_dir.ready_mark(pid).unlink()
        # Imported here: prometheus-client must first see the run's directory.
        from gateway.support.metrics import mark_worker_dead

        mark_worker_dead(pid)

    def _stop(self, why: str) -> None:
        if self.stopping_since is None:
            self.stopping_since = self.clock()
            self.kill_at = self.stopping_since + STOP_GRACE_SECONDS
            log.info("%s: draining %d workers", why, len(self.slots))
        for pid in self.slots:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _release_admin(self) -> None:
        if self.stopping_since is None or self.admin_released:
            return
        if set(self.slots.values()) <= {ADMIN_WORKER}:
            self.admin_released = True
            for pid in self.slots:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, OTHERS_GONE)

    def _announce_when_ready(self) -> None:
        ready = not self.announced and self.stopping_since is None
        if ready and self.run_dir.ready_count() >= self.count:
            self.announced = True
            self.on_ready()

    def _kill_when_late(self) -> None:
        if self.kill_at is None or self.clock() < self.kill_at:
            return
        self.kill_at = None
        for pid, index in self.slots.items():
            log.error(
                "worker %d (pid %d) still running %g s after the stop: killed",
                index,
                pid,
                STOP_GRACE_SECONDS,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.failed = True


def _noted(signum: int, frame: object) -> None:
    """The wake-up pipe carries the signal; nothing else to do here."""


def _drain(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)

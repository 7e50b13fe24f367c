"""The pool's parts that need no gateway: the restart budget and the shared stderr."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gateway.server.workers import LockedStderr, RestartBudget

LINE = re.compile(r"^(?P<writer>[ab]) (?P<n>\d+) (?P<body>x+)$")


def test_restart_budget_allows_five_in_any_sixty_seconds() -> None:
    budget = RestartBudget(allowed=5, window=60.0)
    assert all(budget.take(float(t)) for t in range(5))
    assert budget.take(30.0) is False
    # The first restart leaves the window at t=60: one more is allowed, then none.
    assert budget.take(60.0) is True
    assert budget.take(60.5) is False


def test_locked_stderr_keeps_lines_of_two_processes_whole(tmp_path: Path) -> None:
    """Two processes write batches far larger than PIPE_BUF into one pipe: every line
    read back is one writer's line, whole."""
    lock = tmp_path / "log.lock"
    lock.touch()
    read_end, write_end = os.pipe()
    body = "x" * 3000
    batches = 40
    lines_per_batch = 30
    pids = []
    for writer in "ab":
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the writer
            code = 0
            try:
                os.close(read_end)
                stream = LockedStderr(lock, fd=write_end)
                for batch in range(batches):
                    stream.write(
                        "".join(
                            f"{writer} {batch * lines_per_batch + i} {body}\n"
                            for i in range(lines_per_batch)
                        )
                    )
            except BaseException:
                code = 1
            os._exit(code)
        pids.append(pid)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    for pid in pids:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 2 * batches * lines_per_batch
    seen: dict[str, list[int]] = {"a": [], "b": []}
    for line in lines:
        found = LINE.match(line)
        assert found is not None and found["body"] == body, line[:80]
        seen[found["writer"]].append(int(found["n"]))
    assert seen["a"] == seen["b"] == list(range(batches * lines_per_batch))

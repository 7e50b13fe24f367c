"""Logging for `serve`: one access line per request, written in batches.

A line per request is the contract; a write system call per line is not. Lines are
formatted as they come and written together: when a batch fills, when a warning or worse
arrives, and at least every ``FLUSH_SECONDS`` (``flush_periodically``), so a line is never
held back for long.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
BATCH_LINES = 256
FLUSH_SECONDS = 0.2


class AccessFormatter(logging.Formatter):
    """The standard format, with the time text made once per second instead of per line."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._second = -1
        self._text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._text = second, super().formatTime(record, datefmt)[:-4]
        return f"{self._text},{int(record.msecs):03d}"


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    def __init__(self, stream: TextIO, batch_lines: int = BATCH_LINES) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._batch_lines = batch_lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)
        if len(self._lines) >= self._batch_lines or record.levelno >= logging.WARNING:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._lines:
                self.stream.write("".join(self._lines))
                self._lines.clear()
            self.stream.flush()


def configure(level: str) -> BatchedStreamHandler:
    """Send every logger's records, at ``level`` and above, to stderr in batches."""
    handler = BatchedStreamHandler(sys.stderr)
    handler.setFormatter(AccessFormatter())
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    # The format shows none of these: skip looking them up for every record (logging's
    # documented switches; _srcfile is the one that turns off findCaller).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    return handler


async def flush_periodically(handler: logging.Handler) -> None:
    """Flush ``handler`` every FLUSH_SECONDS until cancelled."""
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        handler.flush()

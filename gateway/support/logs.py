"""Logging for `serve`: one access line per request, written in batches, text or JSON.

A line per request is the contract; a write system call per line is not. Lines are
formatted as they come and written together: when a batch fills, when a warning or worse
arrives, and at least every ``FLUSH_SECONDS`` (``flush_periodically``), so a line is never
held back for long.

Times are UTC in ISO 8601 with ``Z`` in both formats. No line carries a secret: the access
line is built from safe parts (``Fields``), every other line is masked (``gateway.support.redact``)
and aiohttp's parser errors lose the request line and headers they quote
(``ParserErrorFilter``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from typing import Any, TextIO

from aiohttp.http_exceptions import HttpProcessingError

from gateway.support.redact import mask_text

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
TEXT = "text"
JSON = "json"
LOG_FORMATS = (TEXT, JSON)
BATCH_LINES = 256
FLUSH_SECONDS = 0.2
ACCESS_LOGGER = "gateway.access"
# aiohttp's server logger: malformed requests are logged there with the parser's exception.
SERVER_LOGGER = "aiohttp.server"
# aiohttp's own access log quotes the whole request line. `serve` turns it off; an embedder
# that keeps it gets it masked.
AIOHTTP_ACCESS_LOGGER = "aiohttp.access"
PATH_CHARS = 100


class Fields(dict[str, object]):
    """An access line: ``key=value`` pairs in text, an object's members in JSON.

    Logged as the record's message, so the text is made only when a handler formats it.
    """

    def __str__(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.items())


class UtcClock:
    """``2026-06-01T12:00:00.123Z`` (ISO 8601, UTC, milliseconds), the text up to the
    second made once per second, not per line."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        # Rounded to the microsecond first, as datetime does: 0.001 is stored as 0.000999…
        millis = min(round((created - second) * 1_000_000) // 1000, 999)
        return f"{self._text}.{millis:03d}Z"


class AccessFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER MESSAGE``, the time in UTC; lines not built by the access log
    are masked (a library's message or traceback may quote a URL)."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._clock = UtcClock()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._clock(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line if isinstance(record.msg, Fields) else mask_text(line)

    def access_line(self, logger: str, fields: Fields, created: float) -> str:
        """What ``format`` makes of an INFO record of ``fields`` from ``logger``."""
        return f"{self._clock(created)} INFO {logger} {fields}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, then the access line's fields or
    ``message`` (and ``exception``, a traceback as text)."""

    def __init__(self) -> None:
        super().__init__()
        self._clock = UtcClock()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._clock(record.created),
            "level": record.levelname,
            "logger": record.name,
        }
        if isinstance(record.msg, Fields):
            line.update(record.msg)
            return json.dumps(line, default=str)
        line["message"] = mask_text(record.getMessage())
        if record.exc_info:
            line["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(line, default=str)

    def access_line(self, logger: str, fields: Fields, created: float) -> str:
        """What ``format`` makes of an INFO record of ``fields`` from ``logger``."""
        line: dict[str, Any] = {"time": self._clock(created), "level": "INFO", "logger": logger}
        line.update(fields)
        return json.dumps(line, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == JSON:
        return JsonFormatter()
    if log_format == TEXT:
        return AccessFormatter()
    raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


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
        self._add(line, record.levelno)

    def _add(self, line: str, level: int) -> None:
        self._lines.append(line)
        if len(self._lines) >= self._batch_lines or level >= logging.WARNING:
            self.flush()

    def sole_reader_of(self, logger: logging.Logger) -> bool:
        """Whether an INFO record of ``logger`` would reach this handler alone, unchanged:
        no filter on the way, no other handler, this one on the root logger."""
        if self.filters or self.level > logging.INFO:
            return False
        current: logging.Logger | None = logger
        while current is not None:
            if current.filters or (not current.propagate and current.parent is not None):
                return False
            if current.parent is None:
                handlers = current.handlers
                return len(handlers) == 1 and handlers[0] is self
            if current.handlers:
                return False
            current = current.parent
        return False

    def add_access_line(self, logger: str, fields: Fields) -> bool:
        """Batch the line logging would write for ``fields``; False when this handler's
        formatter is not one of serve's (the caller then logs the record)."""
        formatter = self.formatter
        if not isinstance(formatter, AccessFormatter | JsonFormatter):
            return False
        line = formatter.access_line(logger, fields, time.time())
        self._add(line + self.terminator, logging.INFO)
        return True

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._lines:
                self.stream.write("".join(self._lines))
                self._lines.clear()
            self.stream.flush()


# The handler ``configure`` installed: access lines go straight into its batch while it is
# the only reader. A request's access line through logging's record, filters and handler
# walk costs as much again as formatting it (about 10 µs of a refusal's 150).
_serve_handler: BatchedStreamHandler | None = None


def log_access(logger: logging.Logger, fields: Fields) -> None:
    """Log the access line ``fields`` at INFO on ``logger`` (the caller checked that INFO is
    enabled): the same line either way, without the record when nothing else would see it."""
    sink = _serve_handler
    if (
        sink is None
        or not sink.sole_reader_of(logger)
        or not sink.add_access_line(logger.name, fields)
    ):
        logger.info(fields)


# The request line as the C and the Python parsers quote it: b'METHOD TARGET HTTP/1.1'.
_QUOTED_LINE = re.compile(r"""b['"]([A-Z][A-Z0-9!#$%&'*+.^_`|~-]{0,19}) (\S+)""")


class ParserErrorFilter(logging.Filter):
    """aiohttp logs a malformed request with the parser's exception, whose message quotes
    the raw request line or header: ``?oauth2_access_token=…``, ``Authorization: Bearer …``.
    Such a record keeps the peer, the method, the path without its query (truncated) and
    the error class, at INFO: a client's mistake is not the gateway's error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        method, path = "-", "-"
        found = _QUOTED_LINE.search(str(exc.message))
        if found is not None:
            method = found.group(1)
            path = found.group(2).split("?", 1)[0].split("#", 1)[0]
            path = path if len(path) <= PATH_CHARS else path[:PATH_CHARS] + "..."
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else "-"
        record.msg = "malformed request from %s: %s (%s) method=%s path=%s"
        record.args = (peer, type(exc).__name__, exc.code, method, path)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        if record.levelno > logging.INFO:
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True


class MaskingFilter(logging.Filter):
    """The record's message with URL passwords, secret parameters and bearer tokens masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


_PARSER_ERRORS = ParserErrorFilter()
_MASKING = MaskingFilter()


def guard_server_logger() -> None:
    """Install ``ParserErrorFilter`` on aiohttp's server logger and ``MaskingFilter`` on its
    access logger (once: idempotent)."""
    for name, guard in ((SERVER_LOGGER, _PARSER_ERRORS), (AIOHTTP_ACCESS_LOGGER, _MASKING)):
        logger = logging.getLogger(name)
        if guard not in logger.filters:
            logger.addFilter(guard)


def configure(level: str, log_format: str = TEXT) -> BatchedStreamHandler:
    """Send every logger's records, at ``level`` and above, to stderr in batches."""
    global _serve_handler
    handler = BatchedStreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    _serve_handler = handler
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    guard_server_logger()
    # The formats show none of these: skip looking them up for every record (logging's
    # documented switches; _srcfile is the one that turns off findCaller).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    return handler


def use_format(handler: logging.Handler, log_format: str) -> None:
    """Switch ``handler`` to ``log_format`` (once the config that names it is loaded)."""
    handler.setFormatter(formatter_for(log_format))


async def flush_periodically(handler: logging.Handler) -> None:
    """Flush ``handler`` every FLUSH_SECONDS until cancelled."""
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        handler.flush()

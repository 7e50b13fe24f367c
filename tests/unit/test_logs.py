from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp.http_exceptions import BadStatusLine, LineTooLong

from gateway.support import logs
from gateway.support.logs import (
    AccessFormatter,
    BatchedStreamHandler,
    Fields,
    JsonFormatter,
    ParserErrorFilter,
    formatter_for,
    log_access,
)


def record(
    message: object, level: int = logging.INFO, created: float | None = None
) -> logging.LogRecord:
    rec = logging.LogRecord("gateway.access", level, __file__, 1, message, (), None)
    if created is not None:
        rec.created, rec.msecs = created, (created % 1) * 1000
    return rec


def iso_utc(created: float) -> str:
    return (
        datetime.fromtimestamp(created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


CREATED = (1_800_000_000.001, 1_800_000_000.999, 1_800_000_001.5, 1_800_000_001.25, 0.0)


def test_text_lines_start_with_the_utc_time_in_iso_8601() -> None:
    fast = AccessFormatter()
    for created in CREATED:
        line = fast.format(record("method=GET", created=created))
        assert line == f"{iso_utc(created)} INFO gateway.access method=GET"
    assert fast.format(record("x", created=1_800_000_000.5)).startswith("2027-01-15T08:00:00.500Z ")


def test_json_lines_carry_the_utc_time_and_the_access_fields() -> None:
    formatter = JsonFormatter()
    line = json.loads(
        formatter.format(record(Fields(method="GET", status=200), created=1_800_000_000.25))
    )
    assert line == {
        "time": "2027-01-15T08:00:00.250Z",
        "level": "INFO",
        "logger": "gateway.access",
        "method": "GET",
        "status": 200,
    }
    other = json.loads(formatter.format(record("listening on redis://:pw@h/0", created=1.0)))
    assert other["message"] == "listening on redis://:***@h/0"
    assert other["time"] == "1970-01-01T00:00:01.000Z"


def test_access_fields_read_as_key_value_pairs_in_text() -> None:
    line = AccessFormatter().format(record(Fields(method="GET", path="/rest/x", status=401)))
    assert line.endswith(" INFO gateway.access method=GET path=/rest/x status=401")


def test_text_lines_not_built_by_the_access_log_are_masked() -> None:
    line = AccessFormatter().format(record("failed on GET /cb?code=abc with Bearer xyz"))
    assert line.endswith("failed on GET /cb?code=*** with Bearer ***")


def test_unknown_log_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="text, json"):
        formatter_for("xml")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            BadStatusLine("Expected CRLF: b'GET /rest/x?oauth2_access_token=t HTTP/1.1 x'"),
            "malformed request from 10.0.0.1: BadStatusLine (400) method=GET path=/rest/x",
        ),
        (
            LineTooLong("b'aaaa Bearer t'", "8190"),
            "malformed request from 10.0.0.1: LineTooLong (400) method=- path=-",
        ),
    ],
)
def test_parser_errors_lose_the_request_line_and_headers(exc: Exception, expected: str) -> None:
    rec = logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s",
        ("10.0.0.1",), (type(exc), exc, None),
    )  # fmt: skip
    assert ParserErrorFilter().filter(rec)
    assert rec.getMessage() == expected
    assert rec.exc_info is None and rec.levelno == logging.INFO


def test_lines_are_written_in_batches_and_warnings_at_once() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, batch_lines=3)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("one"))
    handler.handle(record("two"))
    assert stream.getvalue() == ""
    handler.handle(record("three"))
    assert stream.getvalue() == "one\ntwo\nthree\n"
    handler.handle(record("four"))
    handler.handle(record("trouble", logging.WARNING))
    assert stream.getvalue().endswith("four\ntrouble\n")
    handler.handle(record("five"))
    handler.flush()
    assert stream.getvalue().endswith("trouble\nfive\n")


@pytest.mark.parametrize("formatter", [AccessFormatter(), JsonFormatter()])
@pytest.mark.parametrize("created", CREATED)
def test_an_access_line_made_directly_is_the_line_of_its_record(
    formatter: AccessFormatter | JsonFormatter, created: float
) -> None:
    fields = Fields(method="GET", path="/rest/posts", status=429, duration_ms="0.4")
    direct = formatter.access_line("gateway.access", fields, created)
    assert direct == formatter.format(record(fields, created=created))


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class ServeLogging:
    handler: BatchedStreamHandler
    stream: io.StringIO
    access: logging.Logger


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> ServeLogging:
    """Serve's handler as ``configure`` installs it (``on_root`` puts it on the root logger),
    and the access logger."""
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, batch_lines=1)
    handler.setFormatter(AccessFormatter())
    monkeypatch.setattr(logging.getLogger(), "level", logging.INFO)
    monkeypatch.setattr(logs, "_serve_handler", handler)
    return ServeLogging(handler, stream, logging.getLogger("gateway.access"))


def on_root(monkeypatch: pytest.MonkeyPatch, *handlers: logging.Handler) -> None:
    # In the test's body: pytest adds its own capturing handlers after fixtures ran.
    monkeypatch.setattr(logging.getLogger(), "handlers", list(handlers))


ACCESS = Fields(method="GET", status=200)


def test_access_lines_reach_serves_handler_as_logging_would_write_them(
    serve: ServeLogging, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_root(monkeypatch, serve.handler)
    assert serve.handler.sole_reader_of(serve.access)
    log_access(serve.access, ACCESS)
    line = serve.stream.getvalue()
    assert line.endswith(" INFO gateway.access method=GET status=200\n")
    assert line.count("\n") == 1


def test_another_reader_still_gets_the_record(
    serve: ServeLogging, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Collect()
    on_root(monkeypatch, serve.handler, other)
    assert not serve.handler.sole_reader_of(serve.access)
    log_access(serve.access, ACCESS)
    assert [str(rec.msg) for rec in other.records] == ["method=GET status=200"]
    assert serve.stream.getvalue().endswith("method=GET status=200\n")


def test_a_filter_on_the_way_still_sees_the_record(
    serve: ServeLogging, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_root(monkeypatch, serve.handler)
    monkeypatch.setattr(serve.access, "filters", [lambda rec: False])
    assert not serve.handler.sole_reader_of(serve.access)
    log_access(serve.access, ACCESS)
    assert serve.stream.getvalue() == ""
    monkeypatch.setattr(serve.access, "filters", [])
    monkeypatch.setattr(serve.handler, "filters", [lambda rec: False])
    log_access(serve.access, ACCESS)
    assert serve.stream.getvalue() == ""

from __future__ import annotations

import io
import logging

from gateway.logs import FORMAT, AccessFormatter, BatchedStreamHandler


def record(
    message: str, level: int = logging.INFO, created: float | None = None
) -> logging.LogRecord:
    rec = logging.LogRecord("gateway.access", level, __file__, 1, message, (), None)
    if created is not None:
        rec.created, rec.msecs = created, (created % 1) * 1000
    return rec


def test_access_formatter_prints_what_the_standard_format_prints() -> None:
    standard = logging.Formatter(FORMAT)
    fast = AccessFormatter()
    for created in (1_800_000_000.001, 1_800_000_000.999, 1_800_000_001.5, 1_800_000_001.25):
        rec = record("method=GET", created=created)
        assert fast.format(rec) == standard.format(rec)


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

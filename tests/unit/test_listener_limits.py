"""The ``connections:`` section, the fd-aware connection cap and the accept-error throttle."""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.server.listener import (
    FEWEST_CONNECTIONS,
    RESERVED_FDS,
    AcceptErrorThrottle,
    connection_caps,
    default_max_connections,
)
from gateway.settings.connections import ConnectionLimits
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, write_config


def load(tmp_path: Path, section: str) -> ConnectionLimits:
    text = gateway_yaml("sandbox", extra=section)
    return load_settings(write_config(tmp_path, text), environ={}).connections


def test_without_a_section_the_defaults_hold(tmp_path: Path) -> None:
    assert load(tmp_path, "") == ConnectionLimits(
        header_timeout=10.0,
        body_idle_timeout=30.0,
        keepalive_timeout=75.0,
        max_connections=None,
        admin_max_connections=64,
        accept_error_log_seconds=10.0,
        body_timeout=120.0,
    )


def test_every_key_is_read(tmp_path: Path) -> None:
    section = """\
connections:
  header_timeout: 2.5
  body_idle_timeout: 4
  keepalive_timeout: 6
  max: 100
  admin_max: 3
  accept_error_log_seconds: 60
  body_timeout: 90
"""
    assert load(tmp_path, section) == ConnectionLimits(2.5, 4.0, 6.0, 100, 3, 60.0, 90.0)
    assert load(tmp_path, "connections: {max: auto}").max_connections is None


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        ("connections: {header_timeout: 0}", "connections.header_timeout", "positive number"),
        ("connections: {body_idle_timeout: -1}", "connections.body_idle_timeout", "positive"),
        ("connections: {body_timeout: 0}", "connections.body_timeout", "positive"),
        ("connections: {keepalive_timeout: .inf}", "connections.keepalive_timeout", "positive"),
        (
            "connections: {accept_error_log_seconds: true}",
            "connections.accept_error_log_seconds",
            "positive",
        ),
        ("connections: {max: 0}", "connections.max", "1 or more or auto"),
        ("connections: {max: 2.5}", "connections.max", "whole number"),
        ("connections: {admin_max: auto}", "connections.admin_max", "whole number"),
        ("connections: {header_timeout: 1, max_conns: 3}", "connections.max_conns", "unknown key"),
        ("connections: 10", "connections", "must be a mapping"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, section: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, section)
    problems = [p for p in caught.value.problems if p.path == path]
    assert problems and message in problems[0].message, caught.value.problems


def test_the_automatic_cap_leaves_descriptors_for_everything_else() -> None:
    assert default_max_connections(1024, 2, 64) == (1024 - RESERVED_FDS - 64) // 2
    # The built-in sandbox costs a third descriptor per call.
    assert default_max_connections(65536, 3, 64) == (65536 - RESERVED_FDS - 64) // 3
    assert default_max_connections(50, 2, 64) == FEWEST_CONNECTIONS


def test_a_configured_cap_wins_over_the_automatic_one() -> None:
    assert connection_caps(ConnectionLimits(max_connections=7), embedded_sandbox=True) == (7, 64)
    automatic, admin = connection_caps(ConnectionLimits(), embedded_sandbox=False)
    assert automatic >= FEWEST_CONNECTIONS and admin == 64


def accept_error() -> dict[str, object]:
    return {
        "message": "socket.accept() out of system resource",
        "exception": OSError(errno.EMFILE, "Too many open files"),
        "socket": object(),
    }


def test_accept_errors_make_one_line_per_interval_with_their_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    throttle = AcceptErrorThrottle(10.0, clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, logger="gateway.server.listener"):
            for _ in range(500):
                throttle(loop, accept_error())
            now[0] += 9.9
            throttle(loop, accept_error())
            now[0] += 0.1
            throttle(loop, accept_error())
    finally:
        loop.close()

    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.server.listener"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("accept() failed 1 time(s) in the last 10 s: EMFILE")
    # The second line accounts for every failure held back since the first.
    assert lines[1].startswith("accept() failed 501 time(s)")


def test_other_loop_errors_still_reach_the_previous_handler() -> None:
    seen: list[dict[str, object]] = []
    throttle = AcceptErrorThrottle(10.0, previous=lambda _loop, context: seen.append(context))
    loop = asyncio.new_event_loop()
    try:
        other = {"message": "Task exception was never retrieved", "exception": ValueError()}
        throttle(loop, other)
        throttle(loop, accept_error())
    finally:
        loop.close()
    assert seen == [other]

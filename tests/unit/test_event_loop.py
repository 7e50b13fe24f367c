"""Which event loop a gateway process runs on."""

from __future__ import annotations

import pytest
import uvloop

from gateway.server.event_loop import loop_factory, loop_name


@pytest.mark.parametrize(("value", "expected"), [("", "uvloop"), ("auto", "uvloop"),
                                                 ("UVLOOP", "uvloop"), ("asyncio", "asyncio")])  # fmt: skip
def test_the_environment_picks_the_loop(value: str, expected: str) -> None:
    loop = loop_factory({"GATEWAY_EVENT_LOOP": value})()
    try:
        assert loop_name(loop) == expected
        assert isinstance(loop, uvloop.Loop) == (expected == "uvloop")
    finally:
        loop.close()


def test_without_the_variable_uvloop_is_used_where_installed() -> None:
    loop = loop_factory({})()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_an_unknown_loop_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="expected one of auto, uvloop, asyncio"):
        loop_factory({"GATEWAY_EVENT_LOOP": "trio"})

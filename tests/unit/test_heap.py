"""freeze_startup_heap: start-up garbage is freed, what lives on is frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway.server.heap import freeze_startup_heap


class Node:
    """A container that can sit in a reference cycle and be watched through a weakref."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    # The test process goes on collecting as usual.
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_cycles_made_at_start_up_are_freed_and_the_living_heap_is_frozen() -> None:
    kept = Node()
    a, b = Node(), Node()
    a.other, b.other = b, a
    cycle = weakref.ref(a)
    del a, b
    frozen = freeze_startup_heap()
    assert cycle() is None
    assert frozen == gc.get_freeze_count() > 0
    # Frozen objects are no longer among those a collection walks.
    assert not any(obj is kept for obj in gc.get_objects())

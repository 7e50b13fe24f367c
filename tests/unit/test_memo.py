from __future__ import annotations

from functools import partial

from gateway.support.memo import Memo


def test_computes_once_per_key_and_stays_bounded() -> None:
    calls: list[int] = []
    memo: Memo[int, int] = Memo(3)

    def square(n: int) -> int:
        calls.append(n)
        return n * n

    assert [memo.get(n, partial(square, n)) for n in (1, 2, 1, 3, 2)] == [1, 4, 1, 9, 4]
    assert calls == [1, 2, 3]
    assert memo.get(4, lambda: square(4)) == 16
    assert len(memo) == 3
    # 1 was the oldest: it went, so it is computed again.
    assert memo.get(1, lambda: square(1)) == 1
    assert calls == [1, 2, 3, 4, 1]

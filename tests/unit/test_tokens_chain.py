"""Which upstream 401 answers mean the token itself is dead (API guide, "Error handling")."""

from __future__ import annotations

import pytest

from gateway.tokens.chain import dead_token_code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN"}', 65601),
        (b'{"status":401,"serviceErrorCode":65602,"code":"EXPIRED_ACCESS_TOKEN"}', 65602),
        (b'{"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN"}', None),
        (b'{"status":401}', None),
        (b"[65601]", None),
        (b"not json", None),
        (b"\xff\xfe", None),
    ],
)
def test_dead_token_code(body: bytes, code: int | None) -> None:
    assert dead_token_code(body) == code

"""The unauthenticated endpoints' limits: config, state buckets per address, binding."""

from __future__ import annotations

import pytest

from gateway.oauth.binding import bound, code_challenge, new_binding
from gateway.oauth.state_limit import StateLimiter, client_key
from gateway.settings.public_limits import PublicLimits, StateLimit, parse_public_limits


def parse(raw: dict[str, object]) -> tuple[PublicLimits, list[str]]:
    problems: list[str] = []
    limits = parse_public_limits(raw, lambda path, message: problems.append(path))
    return limits, problems


def test_defaults() -> None:
    limits, problems = parse({})
    assert problems == []
    assert limits == PublicLimits(65536, 4096, 32, StateLimit(1.0, 20), 10_000)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"webhook_max_body_bytes": 0}, "webhook_max_body_bytes"),
        ({"oauth_max_body_bytes": "4k"}, "oauth_max_body_bytes"),
        ({"public_body_reads": True}, "public_body_reads"),
        ({"oauth_state_entries": -1}, "oauth_state_entries"),
        ({"oauth_state_limit": 5}, "oauth_state_limit"),
        ({"oauth_state_limit": {"rate": 1}}, "oauth_state_limit.rate"),
        ({"oauth_state_limit": {"per_second": 0}}, "oauth_state_limit.per_second"),
        ({"oauth_state_limit": {"burst": 0.5}}, "oauth_state_limit.burst"),
    ],
)
def test_bad_values_name_their_key(raw: dict[str, object], path: str) -> None:
    assert parse(raw)[1] == [path]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, "-"),
    ],
)
def test_client_key(address: str | None, key: str) -> None:
    assert client_key(address) == key


def test_a_bucket_per_address_refills_at_its_rate() -> None:
    limiter = StateLimiter(StateLimit(per_second=0.5, burst=2))
    assert [limiter.take("192.0.2.1", 100.0) for _ in range(3)] == [0.0, 0.0, 2.0]
    assert limiter.take("192.0.2.2", 100.0) == 0.0
    assert limiter.take("192.0.2.1", 101.0) == 1.0
    assert limiter.take("192.0.2.1", 102.0) == 0.0
    # A clock stepping back refills nothing.
    assert limiter.take("192.0.2.1", 50.0) == 2.0


def test_buckets_are_bounded() -> None:
    limiter = StateLimiter(StateLimit(per_second=1, burst=1), max_addresses=2)
    for i in range(5):
        limiter.take(f"192.0.2.{i}", 0.0)
    assert len(limiter._buckets) == 2


def test_binding_names_and_secrets() -> None:
    tls = new_binding("state-1", secure=True)
    plain = new_binding("state-1", secure=False)
    assert tls.name.startswith("__Host-lgw_oauth_") and tls.secure
    assert plain.name == tls.name.removeprefix("__Host-") and not plain.secure
    assert tls.secret != plain.secret
    assert bound(tls.digest, tls.secret)
    assert not bound(tls.digest, plain.secret)
    assert not bound(tls.digest, None) and not bound(None, tls.secret)
    assert new_binding("state-2", secure=True).name != tls.name


def test_code_challenge_is_unpadded_base64url_sha256() -> None:
    challenge = code_challenge("a" * 43)
    assert len(challenge) == 43 and "=" not in challenge
    assert set(challenge) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

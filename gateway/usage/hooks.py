"""The usage steps of the request path, so that the handler stays a straight line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.errors import GatewayError
from gateway.restli.facts import RequestFacts
from gateway.settings.model import AppConfig
from gateway.usage.learned import APPLICATION_AND_MEMBER, learned_refusal, resource_of
from gateway.usage.learned import throttled_counter as _throttled
from gateway.usage.recorder import Usage

Inspect = Callable[[int, bytes], Awaitable[None]]


def check_learned_limit(
    usage: Usage, app: AppConfig, member: str | None, facts: RequestFacts, now: float
) -> None:
    """Raises GatewayError (the 429) for a call to a resource LinkedIn throttled today for
    this app (or member); no I/O."""
    mark = usage.learned.find(app.name, member, resource_of(facts), now)
    if mark is not None:
        raise GatewayError(learned_refusal(mark, now))


def answer_inspector(
    usage: Usage,
    clock: Callable[[], float],
    app: AppConfig,
    member: str | None,
    facts: RequestFacts,
    evict: Callable[[bytes], Awaitable[None]] | None,
) -> Inspect:
    """What the proxy calls with an upstream 401 or 429: the token eviction on a dead
    token's 401, the learning of a limit on LinkedIn's quota 429."""

    async def inspect(status: int, body: bytes) -> None:
        if status == 401 and evict is not None:
            await evict(body)
        counter = _throttled(status, body)
        if counter is None or (counter == APPLICATION_AND_MEMBER and member is None):
            return
        who = member if counter == APPLICATION_AND_MEMBER else None
        usage.learn(app.name, counter, resource_of(facts), who, clock())

    return inspect


def note_request(
    usage: Usage, now: float, app: str, member: str, decision: str, reason: str
) -> None:
    """Every answered request of a known app: its member is in use today, its refusal
    (or shadow refusal) counted by reason."""
    if app == "-":
        return
    if member != "-":
        usage.note_member(app, member, now)
    usage.note_outcome(app, decision, reason, now)

"""Which decisions are unmatched, and the JSON of the admin listener's ``GET /unmatched``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from gateway.catalog.unmatched import UnmatchedCalls
from gateway.policy.decide import Admit, Decision
from gateway.restli.facts import RequestFacts

NOT_IN_CATALOG = "route_not_in_catalog"


def is_unmatched(decision: Decision) -> bool:
    """True when no catalog route matched: forwarded uncatalogued, or denied for it."""
    if isinstance(decision, Admit):
        return decision.match is None
    return decision.refusal.reason == NOT_IN_CATALOG


def note_unmatched(
    calls: UnmatchedCalls, method: str, facts: RequestFacts, decision: Decision, now: float
) -> None:
    if is_unmatched(decision):
        calls.note(method, facts.api, facts.segments, now)


def unmatched_report(day: int, tally: Mapping[str, int]) -> dict[str, object]:
    """The JSON of ``/unmatched``: the day and its paths, most called first."""
    rows = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "day": datetime.fromtimestamp(day * 86400, tz=UTC).date().isoformat(),
        "paths": [{"path": path, "calls": calls} for path, calls in rows],
    }

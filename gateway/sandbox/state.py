"""What one sandbox application instance holds: its entities and its request counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from gateway.sandbox.fixtures import seed
from gateway.sandbox.store import EntityStore


@dataclass
class RequestStats:
    """API requests received, by Rest.li method (by HTTP verb when unclassifiable)."""

    requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)

    def record(self, method: str) -> None:
        self.requests += 1
        self.by_method[method] += 1

    def reset(self) -> None:
        self.requests = 0
        self.by_method.clear()

    def snapshot(self) -> dict[str, object]:
        return {"requests": self.requests, "by_method": dict(sorted(self.by_method.items()))}


@dataclass
class SandboxState:
    member: str
    store: EntityStore
    stats: RequestStats = field(default_factory=RequestStats)

    @classmethod
    def fresh(cls, member: str) -> SandboxState:
        return cls(member=member, store=EntityStore(seed(member)))

    def reseed(self) -> None:
        self.store = EntityStore(seed(self.member))


SANDBOX_STATE = web.AppKey("sandbox_state", SandboxState)

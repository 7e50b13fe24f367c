"""The gateway's Prometheus metrics, through prometheus-client, exposed on the admin listener.

Every metric is declared once in ``SPECS`` (name, help, labels, the label values known from
the start); callers name them by the constants below. Labels are bounded by design: app
names from the config, reason codes, statuses, catalog resources — never a member, a token
or a raw path. Counters whose label values are all known at start (an app's quota
counters, a cache's results) are present at 0 before the first call, so a rate or an
alert sees the first increase.

With ``PROMETHEUS_MULTIPROC_DIR`` set in the environment before the process starts,
prometheus-client keeps every value in a file of that directory per process, and
``render`` adds up all processes' files: several workers answer one consistent scrape.
Process metrics are then each worker's own, labelled by ``pid`` (``refresh_process``); a
supervisor calls ``mark_worker_dead(pid)`` when a worker exits.
"""

from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import product
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from gateway import __version__

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
PROCESS_REFRESH_SECONDS = 10.0

# The *_created series double every counter and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = "gateway_requests_total"
REQUEST_DURATION = "gateway_request_duration_seconds"
UPSTREAM_DURATION = "gateway_upstream_duration_seconds"
STORE_DURATION = "gateway_store_duration_seconds"
QUOTA_CONSUMED = "gateway_quota_consumed_total"
QUOTA_REFUNDED = "gateway_quota_refunded_total"
QUOTA_REMEMBERED_REFUSALS = "gateway_quota_remembered_refusals_total"
STORE_ERRORS = "gateway_store_errors_total"
STORE_QUEUE_FULL = "gateway_store_queue_full_total"
QUOTA_LOCAL_ADMITTED = "gateway_quota_local_admitted_total"
UPSTREAM_ERRORS = "gateway_upstream_errors_total"
UNVERSIONED_CALLS = "gateway_unversioned_calls_total"
UNMATCHED_CALLS = "gateway_unmatched_calls_total"
ROLE_LOOKUPS = "gateway_role_lookups_total"
WEBHOOK_REQUESTS = "gateway_webhook_requests_total"
WEBHOOK_DROPPED = "gateway_webhook_dropped_total"
WEBHOOK_DELIVERIES = "gateway_webhook_deliveries_total"
TOKEN_CACHE = "gateway_token_cache_total"  # noqa: S105 - a metric name
INTROSPECTION_CALLS = "gateway_introspection_calls_total"
TOKEN_EVICTIONS = "gateway_token_evictions_total"  # noqa: S105 - a metric name
TOKEN_STORE_ERRORS = "gateway_token_store_errors_total"  # noqa: S105 - a metric name
MEMBER_LOOKUPS = "gateway_member_lookups_total"
OAUTH_REQUESTS = "gateway_oauth_requests_total"
OAUTH_TOKENS_RECORDED = "gateway_oauth_tokens_recorded_total"
USAGE_ALERTS = "gateway_usage_alerts_total"
USAGE_ALERT_POSTS = "gateway_usage_alert_posts_total"
LEARNED_LIMITS = "gateway_learned_limits_total"
SHADOW_REFUSALS = "gateway_shadow_refusals_total"
BUILD_INFO = "gateway_build_info"
# Per worker, multiprocess mode only (single-process: prometheus-client's process_*).
WORKER_RESIDENT_MEMORY = "gateway_worker_resident_memory_bytes"
WORKER_CPU_SECONDS = "gateway_worker_cpu_seconds"
WORKER_OPEN_FDS = "gateway_worker_open_fds"
WORKER_START_TIME = "gateway_worker_start_time_seconds"

# A label value standing for "every app in the config" in ``Spec.known``.
APPS = "{apps}"
# Request and upstream times: from a memo hit (well under 5 ms) to upstream_timeout (30 s).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A store round trip: sub-millisecond on loopback, socket_timeout (0.5 s) at worst.
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Kind(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


@dataclass(frozen=True)
class Spec:
    name: str
    help: str
    labels: tuple[str, ...] = ()
    kind: Kind = Kind.COUNTER
    # Label values present from the start: every combination of these (APPS expands to the
    # config's apps), and the explicit combinations in ``known_rows``.
    known: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    known_rows: tuple[tuple[str, ...], ...] = ()
    buckets: tuple[float, ...] = DURATION_BUCKETS


SPECS: tuple[Spec, ...] = (
    Spec(
        REQUESTS,
        "Requests answered, by app, decision, reason and status.",
        ("app", "decision", "reason", "status"),
        known_rows=(
            (APPS, "admit", "-", "200"),
            (APPS, "refuse", "app_quota_exhausted", "429"),
            (APPS, "refuse", "member_quota_exhausted", "429"),
        ),
    ),
    Spec(
        REQUEST_DURATION,
        "Seconds spent answering a request, by route family (the catalog resource, "
        "'unmatched', or '-' for a refused call) and decision.",
        ("family", "decision"),
        Kind.HISTOGRAM,
    ),
    Spec(
        UPSTREAM_DURATION,
        "Seconds of the exchange with the upstream, by route family and status class "
        "(2xx..5xx, or error).",
        ("family", "status"),
        Kind.HISTOGRAM,
    ),
    Spec(
        STORE_DURATION,
        "Seconds of a quota store operation (consume, refund), by operation and result.",
        ("operation", "result"),
        Kind.HISTOGRAM,
        buckets=STORE_BUCKETS,
    ),
    Spec(
        QUOTA_CONSUMED,
        "Calls admitted and counted against a quota, by app.",
        ("app",),
        known={"app": (APPS,)},
    ),
    Spec(QUOTA_REFUNDED, "Admitted calls refunded because they never reached upstream."),
    Spec(
        QUOTA_REMEMBERED_REFUSALS,
        "Calls refused over quota from this replica's memory of the same buckets' refusal, "
        "without asking the store (refusal_cache_seconds).",
    ),
    Spec(
        STORE_ERRORS,
        "Quota store failures, by the action taken (closed, open, local).",
        ("action",),
        known={"action": ("closed", "open", "local")},
    ),
    Spec(
        QUOTA_LOCAL_ADMITTED,
        "Calls admitted on a replica's local allowance while the quota store was away "
        "(on_store_error: local), by app.",
        ("app",),
        known={"app": (APPS,)},
    ),
    Spec(
        STORE_QUEUE_FULL,
        "Quota store calls refused at once: too many commands already waited for Redis "
        "(max_pending).",
    ),
    Spec(
        UPSTREAM_ERRORS,
        "Upstream failures, by reason.",
        ("reason",),
        known={"reason": ("upstream_unreachable", "upstream_timeout", "upstream_error")},
    ),
    Spec(
        UNVERSIONED_CALLS,
        "Calls forwarded to the unversioned /v2 APIs, by app.",
        ("app",),
        known={"app": (APPS,)},
    ),
    Spec(
        UNMATCHED_CALLS,
        "Calls no catalog route matched, by path family (a catalog resource or <api>/other).",
        ("family",),
    ),
    Spec(
        ROLE_LOOKUPS,
        "Member role look-ups sent upstream (enforce_roles apps), by app and outcome.",
        ("app", "outcome"),
        known={"app": (APPS,), "outcome": ("ok", "failed")},
    ),
    Spec(
        WEBHOOK_REQUESTS,
        "Requests to /webhooks/{app}, by app, outcome and status.",
        ("app", "outcome", "status"),
    ),
    Spec(
        WEBHOOK_DROPPED,
        "Social-action pushes dropped for a tier without them.",
        ("app", "reason"),
    ),
    Spec(
        WEBHOOK_DELIVERIES,
        "Webhook deliveries to the internal URL, by app and outcome.",
        ("app", "outcome"),
    ),
    Spec(
        TOKEN_CACHE,
        "Token cache lookups, by result (local_hit, shared_hit, negative_hit, miss).",
        ("result",),
        known={"result": ("local_hit", "shared_hit", "negative_hit", "miss")},
    ),
    Spec(
        INTROSPECTION_CALLS,
        "Calls to LinkedIn's introspectToken, by app and result.",
        ("app", "result"),
        known={"app": (APPS,), "result": ("active", "inactive", "refused", "error", "limited")},
    ),
    Spec(
        TOKEN_EVICTIONS,
        "Tokens evicted after LinkedIn answered revoked or expired, by source.",
        ("source",),
        known={"source": ("answer", "replica")},
    ),
    Spec(
        TOKEN_STORE_ERRORS,
        "Token cache store failures, by operation.",
        ("operation",),
        known={"operation": ("lookup", "store", "evict", "pin", "charge")},
    ),
    Spec(
        MEMBER_LOOKUPS,
        "Member lookups, by way (userinfo, me, header) and result.",
        ("way", "result"),
        known_rows=(
            *((way, result) for way in ("userinfo", "me") for result in ("ok", "failed", "error")),
            *(("header", result) for result in ("ok", "mismatch", "untrusted")),
        ),
    ),
    Spec(
        OAUTH_REQUESTS,
        "Requests to /oauth/*, by endpoint, reason and status.",
        ("endpoint", "reason", "status"),
    ),
    Spec(
        OAUTH_TOKENS_RECORDED,
        "Tokens recorded by the gateway's flow, by app and grant.",
        ("app", "grant"),
        known={"app": (APPS,), "grant": ("code", "refresh")},
    ),
    Spec(
        USAGE_ALERTS,
        "Buckets that crossed a usage_alerts threshold, by app, bucket and threshold (once "
        "per day across replicas).",
        ("app", "bucket", "threshold"),
    ),
    Spec(
        USAGE_ALERT_POSTS,
        "Usage alert POSTs to usage_alerts.webhook, by outcome.",
        ("outcome",),
        known={"outcome": ("delivered", "retry", "failed", "dropped")},
    ),
    Spec(
        LEARNED_LIMITS,
        "Daily limits learned from LinkedIn's own 429, by app and counter.",
        ("app", "counter"),
    ),
    Spec(
        SHADOW_REFUSALS,
        "Refusals a shadow-mode app was spared (the call was forwarded), by app and reason.",
        ("app", "reason"),
    ),
    Spec(
        BUILD_INFO,
        "Always 1: the gateway's version and the Python it runs on.",
        ("version", "python"),
        Kind.GAUGE,
    ),
)
WORKER_SPECS: tuple[Spec, ...] = (
    Spec(WORKER_RESIDENT_MEMORY, "Resident memory of a worker, by pid.", (), Kind.GAUGE),
    Spec(WORKER_CPU_SECONDS, "CPU seconds a worker used, by pid.", (), Kind.GAUGE),
    Spec(WORKER_OPEN_FDS, "Open file descriptors of a worker, by pid.", (), Kind.GAUGE),
    Spec(WORKER_START_TIME, "When a worker started (epoch seconds), by pid.", (), Kind.GAUGE),
)
HELP = {spec.name: spec.help for spec in SPECS + WORKER_SPECS}
# process_* samples mirrored into the worker gauges (multiprocess mode).
_WORKER_SOURCES = {
    "process_resident_memory_bytes": WORKER_RESIDENT_MEMORY,
    "process_cpu_seconds_total": WORKER_CPU_SECONDS,
    "process_open_fds": WORKER_OPEN_FDS,
    "process_start_time_seconds": WORKER_START_TIME,
}

Metric = Counter | Histogram | Gauge
GaugeMode = Literal["liveall", "max"]


def multiprocess_dir() -> str | None:
    """The multiprocess directory when this process runs in multiprocess mode."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The gateway's metrics, in a registry of their own (one per gateway app)."""

    def __init__(self, apps: Iterable[str] = ()) -> None:
        self._multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, Metric] = {}
        self._children: dict[tuple[str, tuple[tuple[str, str], ...]], Metric] = {}
        for spec in SPECS:
            self._metrics[spec.name] = _declare(spec, self.registry)
        apps = tuple(apps)
        for spec in SPECS:
            for row in _known_rows(spec, apps):
                self._metrics[spec.name].labels(*row)
        build = self._metrics[BUILD_INFO].labels(__version__, platform.python_version())
        assert isinstance(build, Gauge)
        build.set(1)
        self._process = ProcessCollector(registry=None)
        if self._multiprocess is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        else:
            for spec in WORKER_SPECS:
                self._metrics[spec.name] = _declare(spec, self.registry)
            self.refresh_process()

    @property
    def multiprocess(self) -> bool:
        return self._multiprocess is not None

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the counter ``name``; labels exactly as its Spec names them."""
        child = self._child(name, tuple(labels.items()))
        assert isinstance(child, Counter)
        child.inc(amount)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Record ``seconds`` in the histogram ``name``."""
        child = self._child(name, tuple(labels.items()))
        assert isinstance(child, Histogram)
        child.observe(seconds)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (0 when never counted)."""
        sample = self.registry.get_sample_value(name, labels)
        return 0.0 if sample is None else sample

    def refresh_process(self) -> None:
        """Multiprocess mode: copy this worker's process figures into its pid's gauges."""
        if self._multiprocess is None:
            return
        for family in self._process.collect():
            for sample in family.samples:
                target = _WORKER_SOURCES.get(sample.name)
                if target is not None:
                    gauge = self._metrics[target]
                    assert isinstance(gauge, Gauge)
                    gauge.set(sample.value)

    def render(self) -> str:
        """The exposition: this registry, or every worker's files in multiprocess mode."""
        if self._multiprocess is None:
            return generate_latest(self.registry).decode()
        self.refresh_process()
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            merged, path=self._multiprocess
        )
        return generate_latest(merged).decode()

    def _child(self, name: str, labels: tuple[tuple[str, str], ...]) -> Metric:
        key = (name, labels)
        child = self._children.get(key)
        if child is None:
            metric = self._metrics[name]
            child = metric.labels(**dict(labels)) if labels else metric
            self._children[key] = child
        return child


async def refresh_periodically(metrics: Metrics) -> None:
    """Multiprocess mode: keep this worker's ``gateway_worker_*`` gauges fresh (a scrape
    reaches one worker; the others' figures must not be as old as their last scrape)."""
    while True:
        metrics.refresh_process()
        await asyncio.sleep(PROCESS_REFRESH_SECONDS)


def mark_worker_dead(pid: int) -> None:
    """For a supervisor of workers: drop a dead worker's live gauges (its counters stay)."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _declare(spec: Spec, registry: CollectorRegistry) -> Metric:
    if spec.kind is Kind.HISTOGRAM:
        return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)
    if spec.kind is Kind.GAUGE:
        # build_info is one value whatever the worker; process figures are per live worker.
        mode: GaugeMode = "liveall" if spec.name in _WORKER_SOURCES.values() else "max"
        return Gauge(spec.name, spec.help, spec.labels, registry=registry, multiprocess_mode=mode)
    return Counter(spec.name, spec.help, spec.labels, registry=registry)


def _known_rows(spec: Spec, apps: Sequence[str]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    if spec.known and set(spec.known) == set(spec.labels):
        rows.extend(product(*(spec.known[label] for label in spec.labels)))
    rows.extend(spec.known_rows)
    out: list[tuple[str, ...]] = []
    for row in rows:
        expanded: list[tuple[str, ...]] = [()]
        for value in row:
            choices = apps if value == APPS else (value,)
            expanded = [(*prefix, choice) for prefix in expanded for choice in choices]
        out.extend(expanded)
    return out

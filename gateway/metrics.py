"""In-process counters, exposed in the Prometheus text format on the admin listener.

Labels are low-cardinality by design: app names, reason codes, statuses — never members
or tokens.
"""

from __future__ import annotations

from collections import defaultdict

LabelSet = tuple[tuple[str, str], ...]

HELP = {
    "gateway_requests_total": "Requests answered, by app, decision, reason and status.",
    "gateway_quota_consumed_total": "Calls admitted and counted against a quota, by app.",
    "gateway_quota_refunded_total": "Admitted calls refunded because they never reached upstream.",
    "gateway_store_errors_total": "Quota store failures, by the action (closed, open, local).",
    "gateway_quota_local_admitted_total": "Calls admitted on a replica's local allowance while "
    "the quota store was away (on_store_error: local), by app.",
    "gateway_store_queue_full_total": "Quota store calls refused at once: too many commands "
    "already waited for Redis (max_pending).",
    "gateway_upstream_errors_total": "Upstream failures, by reason.",
    "gateway_request_duration_seconds_sum": "Total seconds spent answering requests.",
    "gateway_request_duration_seconds_count": "Requests timed.",
    "gateway_token_cache_total": "Token cache lookups, by result (local_hit, shared_hit, "
    "negative_hit, miss).",
    "gateway_introspection_calls_total": "Calls to LinkedIn's introspectToken, by app and result.",
    "gateway_token_evictions_total": "Tokens evicted after LinkedIn answered revoked or expired.",
    "gateway_token_store_errors_total": "Token cache store failures, by operation.",
    "gateway_member_lookups_total": "Member lookups, by way (userinfo, me, header) and result.",
    "gateway_oauth_requests_total": "Requests to /oauth/*, by endpoint, reason and status.",
    "gateway_oauth_tokens_recorded_total": "Tokens recorded by the gateway's flow, by app and "
    "grant.",
    "gateway_role_lookups_total": "Member role look-ups sent upstream (enforce_roles apps).",
    "gateway_unversioned_calls_total": "Calls forwarded to the unversioned /v2 APIs, by app.",
    "gateway_webhook_requests_total": "Requests to /webhooks/{app}, by app and outcome.",
    "gateway_webhook_dropped_total": "Social-action pushes dropped for a tier without them.",
    "gateway_webhook_deliveries_total": "Webhook deliveries to the internal URL, by outcome.",
    "gateway_usage_alerts_total": "Buckets that crossed a usage_alerts threshold, by app, bucket "
    "and threshold (once per day across replicas).",
    "gateway_usage_alert_posts_total": "Usage alert POSTs to usage_alerts.webhook, by outcome.",
    "gateway_learned_limits_total": "Daily limits learned from LinkedIn's own 429, by app and "
    "counter.",
    "gateway_shadow_refusals_total": "Refusals a shadow-mode app was spared (the call was "
    "forwarded), by app and reason.",
}


class Metrics:
    def __init__(self) -> None:
        self._values: dict[str, dict[LabelSet, float]] = defaultdict(lambda: defaultdict(float))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items())) if labels else ()
        self._values[name][key] += amount

    def value(self, name: str, **labels: str) -> float:
        return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        lines: list[str] = []
        for name in sorted(self._values):
            lines.append(f"# HELP {name} {HELP.get(name, name)}")
            lines.append(f"# TYPE {name} counter")
            for labels, value in sorted(self._values[name].items()):
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                suffix = "{" + label_text + "}" if label_text else ""
                lines.append(f"{name}{suffix} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

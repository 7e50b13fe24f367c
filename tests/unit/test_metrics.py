from __future__ import annotations

import platform
import re

import pytest

from gateway import __version__
from gateway.support import metrics
from gateway.support.metrics import SPECS, Kind, Metrics


def samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_known_counters_are_exposed_at_zero_before_the_first_call() -> None:
    exposed = samples(Metrics(("alpha", "beta")).render())
    for app in ("alpha", "beta"):
        assert exposed[f'gateway_quota_consumed_total{{app="{app}"}}'] == 0
        assert (
            exposed[
                f'gateway_requests_total{{app="{app}",decision="refuse",'
                'reason="member_quota_exhausted",status="429"}'
            ]
            == 0
        )
        assert exposed[f'gateway_introspection_calls_total{{app="{app}",result="error"}}'] == 0
    for result in ("local_hit", "shared_hit", "negative_hit", "miss"):
        assert exposed[f'gateway_token_cache_total{{result="{result}"}}'] == 0
    assert exposed['gateway_store_errors_total{action="open"}'] == 0
    assert exposed["gateway_quota_refunded_total"] == 0
    # Every unlabelled counter and every counter family is there, labelled ones with HELP.
    text = Metrics(()).render()
    for spec in SPECS:
        assert f"# HELP {spec.name} " in text, spec.name
        assert f"# TYPE {spec.name} {spec.kind.value}" in text, spec.name


def test_counts_add_up_and_histograms_keep_count_sum_and_buckets() -> None:
    m = Metrics(("alpha",))
    m.inc(metrics.QUOTA_CONSUMED, app="alpha")
    m.inc(metrics.QUOTA_CONSUMED, 2, app="alpha")
    m.observe(metrics.REQUEST_DURATION, 0.02, family="posts", decision="admit")
    m.observe(metrics.REQUEST_DURATION, 3.0, family="posts", decision="admit")
    exposed = samples(m.render())
    assert exposed['gateway_quota_consumed_total{app="alpha"}'] == 3
    assert m.value(metrics.QUOTA_CONSUMED, app="alpha") == 3
    key = 'gateway_request_duration_seconds_{}{{decision="admit",family="posts"{}}}'
    assert exposed[key.format("count", "")] == 2
    assert exposed[key.format("sum", "")] == pytest.approx(3.02)
    assert exposed[key.format("bucket", ',le="0.025"')] == 1
    assert exposed[key.format("bucket", ',le="5.0"')] == 2
    assert exposed[key.format("bucket", ',le="+Inf"')] == 2


def test_build_info_and_process_metrics() -> None:
    text = Metrics(()).render()
    python = platform.python_version()
    assert f'gateway_build_info{{python="{python}",version="{__version__}"}} 1.0' in text
    assert re.search(r"^process_resident_memory_bytes \d", text, flags=re.M)
    assert re.search(r"^process_open_fds \d", text, flags=re.M)
    assert "python_info{" in text
    assert "_created" not in text


def test_a_metric_is_named_by_its_spec_with_exactly_its_labels() -> None:
    m = Metrics(())
    with pytest.raises(KeyError):
        m.inc("gateway_nonexistent_total")
    with pytest.raises(ValueError, match="label"):
        m.inc(metrics.QUOTA_CONSUMED, member="urn:li:person:x")
    with pytest.raises(AssertionError):
        m.inc(metrics.REQUEST_DURATION, family="posts", decision="admit")


def test_every_spec_is_a_counter_histogram_or_gauge_with_help() -> None:
    names = [spec.name for spec in SPECS]
    assert len(names) == len(set(names))
    for spec in SPECS:
        assert spec.help.endswith("."), spec.name
        if spec.kind is Kind.COUNTER:
            assert spec.name.endswith("_total"), spec.name
        assert set(spec.known) <= set(spec.labels), spec.name
        for row in spec.known_rows:
            assert len(row) == len(spec.labels), spec.name

"""Calls outside the catalog: their normalized path, a bounded metric label, one log line
per path and day, and a bounded tally."""

from __future__ import annotations

import logging

import pytest

from gateway.catalog import unmatched
from gateway.catalog.loader import load_catalog
from gateway.catalog.unmatched import METRIC, OVERFLOW, MemoryUnmatchedLedger, UnmatchedCalls
from gateway.catalog.unmatched_paths import catalog_families, normalize, path_family
from gateway.support.metrics import Metrics

CATALOG = load_catalog()
DAY = 20_000
NOW = DAY * 86400.0 + 3600


@pytest.mark.parametrize(
    ("segments", "path"),
    [
        (("adAccounts", "500001", "newThing"), "/rest/adAccounts/{key}/newThing"),
        (("adAccounts", "500002", "newThing"), "/rest/adAccounts/{key}/newThing"),
        (("posts", "urn:li:share:1", "x"), "/rest/posts/{key}/x"),
        (("eventSubscriptions", "(a:1,b:2)"), "/rest/eventSubscriptions/{key}"),
        (("a" * 65,), "/rest/{key}"),
        (tuple("abcdefghij"), "/rest/a/b/c/d/e/f/g/h/…"),
    ],
)
def test_keys_become_one_placeholder(segments: tuple[str, ...], path: str) -> None:
    assert normalize("rest", segments) == path


def test_the_family_is_a_catalog_resource_or_other() -> None:
    known = catalog_families(CATALOG)
    assert (
        path_family("rest", ("adAccounts", "1", "newThing"), known) == "rest/adAccounts".casefold()
    )
    assert path_family("rest", ("ADACCOUNTS",), known) == "rest/adaccounts"
    assert path_family("v2", ("ugcPosts", "x", "y"), known) == "v2/ugcposts"
    # Invented first segments share one label: the label set is bounded by the catalog.
    labels = {path_family("rest", (f"made{i}up",), known) for i in range(500)}
    assert labels == {"rest/other"}
    assert len(known) < 100


def test_each_path_is_logged_once_a_day_and_every_call_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    calls = UnmatchedCalls(CATALOG, MemoryUnmatchedLedger(), metrics)
    with caplog.at_level(logging.WARNING, logger="gateway"):
        calls.note("GET", "rest", ("adAccounts", "1", "newThing"), NOW)
        calls.note("GET", "rest", ("adAccounts", "2", "newThing"), NOW + 1)
        calls.note("POST", "rest", ("madeUp",), NOW + 2)
        calls.note("GET", "rest", ("adAccounts", "3", "newThing"), NOW + 86400)  # next day
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0] == (
        "call outside the catalog: GET /rest/adAccounts/{key}/newThing "
        "(family rest/adaccounts; logged once a day per path)"
    )
    assert metrics.value(METRIC, family="rest/adaccounts") == 3
    assert metrics.value(METRIC, family="rest/other") == 1


async def test_the_tally_counts_per_day_and_flushes(caplog: pytest.LogCaptureFixture) -> None:
    ledger = MemoryUnmatchedLedger()
    calls = UnmatchedCalls(CATALOG, ledger)
    for i in range(3):
        calls.note("GET", "rest", ("adAccounts", str(i), "newThing"), NOW)
    calls.note("GET", "rest", ("madeUp",), NOW)
    assert await calls.today(NOW) == {"/rest/adAccounts/{key}/newThing": 3, "/rest/madeUp": 1}
    assert await ledger.day(DAY + 1) == {}


async def test_paths_past_the_bound_count_as_other(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(unmatched, "MAX_PATHS", 3)
    calls = UnmatchedCalls(CATALOG)
    with caplog.at_level(logging.WARNING, logger="gateway"):
        for i in range(10):
            calls.note("GET", "rest", (f"invented{i}",), NOW)
    tally = await calls.today(NOW)
    assert len(tally) == 4
    assert tally[OVERFLOW] == 7
    # Three paths, then one line saying no more are logged today.
    assert len(caplog.records) == 4
    assert "no more logged" in caplog.records[-1].getMessage()

"""The ad-account ledger contract, checked on every ledger (memory, fakeredis, a real Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import fakeredis
import pytest

from gateway.adaccounts.keys import created_ids_key, created_slots_key, edited_key, persistent_keys
from gateway.adaccounts.ledger import AdAccountLedger, LedgerView, MemoryLedger
from gateway.adaccounts.redis_ledger import RedisLedger
from gateway.quota.model import Window
from gateway.quota.redis_store import RedisStore
from tests.contract.subjects import RedisSubject, keys_without_ttl, spec
from tests.redis_server import PATIENT, unique_app, with_query

LIMIT = 5
NOW = 1_700_000_000.0


@dataclass
class LedgerSubject:
    kind: str
    app: str
    ledger: AdAccountLedger
    store: RedisStore | None


def _fake_store() -> RedisStore:
    fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), max_connections=1000)
    return RedisStore(fake)


def _store(request: pytest.FixtureRequest, kind: str) -> RedisStore | None:
    if kind == "memory":
        return None
    if kind == "fakeredis":
        return _fake_store()
    url: str = request.getfixturevalue("redis_url")
    return RedisStore.from_url(with_query(url, PATIENT))


LEDGERS = ["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=LEDGERS)
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[LedgerSubject]:
    kind: str = request.param
    store = _store(request, kind)
    ledger: AdAccountLedger = MemoryLedger() if store is None else RedisLedger(store.client)
    made = LedgerSubject(kind, unique_app(f"ledger-{kind}"), ledger, store)
    try:
        yield made
    finally:
        if store is not None:
            # Ledger keys never expire: a test must remove what it wrote.
            await store.client.delete(*persistent_keys(made.app))
            await store.close()


def accounts(*numbers: int) -> tuple[str, ...]:
    return tuple(str(n) for n in numbers)


async def test_a_new_app_has_an_empty_ledger(subject: LedgerSubject) -> None:
    assert await subject.ledger.view(subject.app) == LedgerView((), 0, ())


async def test_claims_up_to_the_limit_and_refuses_a_sixth_account(subject: LedgerSubject) -> None:
    for n in range(1, LIMIT + 1):
        outcome = await subject.ledger.claim_edit(subject.app, [str(n)], LIMIT)
        assert outcome.admitted
        assert outcome.added == (str(n),)
        assert outcome.edited == accounts(*range(1, n + 1))

    sixth = await subject.ledger.claim_edit(subject.app, ["6"], LIMIT)

    assert not sixth.admitted
    assert sixth.added == ()
    assert sixth.edited == accounts(1, 2, 3, 4, 5)
    assert (await subject.ledger.view(subject.app)).edited == accounts(1, 2, 3, 4, 5)


async def test_known_accounts_are_admitted_when_the_set_is_full(subject: LedgerSubject) -> None:
    await subject.ledger.claim_edit(subject.app, accounts(1, 2, 3, 4, 5), LIMIT)

    again = await subject.ledger.claim_edit(subject.app, accounts(5, 3), LIMIT)

    assert again.admitted
    assert again.added == ()
    assert again.edited == accounts(1, 2, 3, 4, 5)


async def test_a_claim_naming_several_new_accounts_is_all_or_nothing(
    subject: LedgerSubject,
) -> None:
    await subject.ledger.claim_edit(subject.app, accounts(1, 2, 3, 4), LIMIT)

    refused = await subject.ledger.claim_edit(subject.app, accounts(4, 5, 6), LIMIT)
    assert not refused.admitted
    assert (await subject.ledger.view(subject.app)).edited == accounts(1, 2, 3, 4)

    admitted = await subject.ledger.claim_edit(subject.app, accounts(4, 5), LIMIT)
    assert admitted.admitted and admitted.added == ("5",)


async def test_apps_have_separate_ledgers(subject: LedgerSubject) -> None:
    other = subject.app + "-other"
    try:
        await subject.ledger.claim_edit(subject.app, accounts(1, 2, 3, 4, 5), LIMIT)
        outcome = await subject.ledger.claim_edit(other, ["6"], LIMIT)
        assert outcome.admitted and outcome.edited == ("6",)
    finally:
        await subject.ledger.reset(other)


@pytest.mark.parametrize("used", [0, 4])
async def test_racing_for_the_last_slot_exactly_one_wins(subject: LedgerSubject, used: int) -> None:
    if used:
        await subject.ledger.claim_edit(subject.app, accounts(*range(1, used + 1)), LIMIT)
    contenders = [str(1000 + i) for i in range(50)]

    outcomes = await asyncio.gather(
        *(subject.ledger.claim_edit(subject.app, [account], LIMIT) for account in contenders)
    )

    winners = [o.added[0] for o in outcomes if o.admitted]
    assert len(winners) == LIMIT - used
    view = await subject.ledger.view(subject.app)
    assert len(view.edited) == LIMIT
    assert set(winners) <= set(view.edited)


async def test_one_test_account_slot_and_its_release(subject: LedgerSubject) -> None:
    ledger, app = subject.ledger, subject.app
    assert await ledger.claim_test_accounts(app, 1, 1)
    assert not await ledger.claim_test_accounts(app, 1, 1)

    await ledger.release_test_accounts(app, 1)
    await ledger.release_test_accounts(app, 1)  # never below zero
    assert (await ledger.view(app)).test_slots == 0

    assert await ledger.claim_test_accounts(app, 1, 1)
    await ledger.record_test_account(app, "900001")
    assert await ledger.view(app) == LedgerView((), 1, ("900001",))
    assert not await ledger.claim_test_accounts(app, 1, 1)


async def test_racing_test_account_creates_take_one_slot(subject: LedgerSubject) -> None:
    results = await asyncio.gather(
        *(subject.ledger.claim_test_accounts(subject.app, 1, 1) for _ in range(30))
    )
    assert results.count(True) == 1
    assert (await subject.ledger.view(subject.app)).test_slots == 1


async def test_a_batch_of_test_creates_needs_room_for_all(subject: LedgerSubject) -> None:
    assert not await subject.ledger.claim_test_accounts(subject.app, 2, 1)
    assert (await subject.ledger.view(subject.app)).test_slots == 0


async def test_reset_forgets_everything_and_reports_it(subject: LedgerSubject) -> None:
    ledger, app = subject.ledger, subject.app
    await ledger.claim_edit(app, accounts(7, 3), LIMIT)
    await ledger.claim_test_accounts(app, 1, 1)
    await ledger.record_test_account(app, "900001")

    forgotten = await ledger.reset(app)

    assert forgotten == LedgerView(accounts(3, 7), 1, ("900001",))
    assert await ledger.view(app) == LedgerView((), 0, ())
    assert (await ledger.claim_edit(app, accounts(1, 2, 4, 5, 6), LIMIT)).admitted


# --- Redis only ----------------------------------------------------------------------------

REDIS_KINDS = ["fakeredis", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.mark.parametrize("kind", REDIS_KINDS)
async def test_ledger_keys_share_the_app_hash_tag_and_never_expire(
    request: pytest.FixtureRequest, kind: str
) -> None:
    store = _store(request, kind)
    assert store is not None
    subject = RedisSubject(kind, store)
    ledger = RedisLedger(store.client)
    try:
        # The quota buckets and the ledger of one app, side by side.
        await store.consume([spec(subject, "app", 10, Window.UTC_DAY)], NOW)
        await ledger.claim_edit(subject.app, ["42"], LIMIT)
        await ledger.claim_test_accounts(subject.app, 1, 1)
        await ledger.record_test_account(subject.app, "900001")

        ttls = await subject.ttls(NOW)

        never = {key for key, ttl in ttls.items() if ttl is None}
        assert never == set(persistent_keys(subject.app))
        assert never == {
            edited_key(subject.app),
            created_slots_key(subject.app),
            created_ids_key(subject.app),
        }
        assert all(f"{{{subject.app}}}" in key for key in ttls)
        # The "every key has a TTL" check excludes exactly these keys, by name.
        assert await keys_without_ttl(subject) == []
        await store.client.set(edited_key(subject.app) + "-stray", "1")
        assert await keys_without_ttl(subject) == [edited_key(subject.app) + "-stray"]
    finally:
        await subject.drop_keys()
        await store.close()


@pytest.mark.redis
async def test_the_ledger_persists_across_store_objects(redis_url: str) -> None:
    app = unique_app("ledger-persist")
    url = with_query(redis_url, PATIENT)
    first = RedisStore.from_url(url)
    try:
        await RedisLedger(first.client).claim_edit(app, accounts(1, 2, 3, 4, 5), LIMIT)
        await RedisLedger(first.client).claim_test_accounts(app, 1, 1)
    finally:
        await first.close()

    second = RedisStore.from_url(url)
    try:
        ledger = RedisLedger(second.client)
        assert await ledger.view(app) == LedgerView(accounts(1, 2, 3, 4, 5), 1, ())
        assert (await ledger.claim_edit(app, ["3"], LIMIT)).admitted
        assert not (await ledger.claim_edit(app, ["6"], LIMIT)).admitted
        assert not await ledger.claim_test_accounts(app, 1, 1)
    finally:
        await second.client.delete(*persistent_keys(app))
        await second.close()


@pytest.mark.redis
async def test_replicas_on_one_redis_race_for_the_last_slot(redis_url: str) -> None:
    app = unique_app("ledger-replicas")
    url = with_query(redis_url, PATIENT)
    stores = [RedisStore.from_url(url) for _ in range(3)]
    ledgers = [RedisLedger(store.client) for store in stores]
    try:
        await ledgers[0].claim_edit(app, accounts(1, 2, 3, 4), LIMIT)
        outcomes = await asyncio.gather(
            *(ledgers[i % 3].claim_edit(app, [str(100 + i)], LIMIT) for i in range(30))
        )
        assert sum(o.admitted for o in outcomes) == 1
        assert len((await ledgers[2].view(app)).edited) == LIMIT
    finally:
        await stores[0].client.delete(*persistent_keys(app))
        for store in stores:
            await store.close()

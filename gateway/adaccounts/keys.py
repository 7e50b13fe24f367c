"""The ad-account ledger's store keys. Pure.

These are the only keys the gateway writes without a TTL: the Development tier's five
editable accounts and its one test account are allowances for the life of the app, not for
a window. Like every key of an app they carry its ``{app}`` hash tag, so one Lua script
touches one Redis Cluster slot.
"""

from __future__ import annotations

from gateway.quota.keys import bucket_key

LEDGER = "ad-accounts"
EDITED = "edited"
TEST_SLOTS = "test-slots"
TEST_IDS = "test-ids"


def edited_key(app: str) -> str:
    """The set of ad account ids the app has edited."""
    return bucket_key(app, LEDGER, EDITED)


def created_slots_key(app: str) -> str:
    """How many test-account creates the app has made or has in flight."""
    return bucket_key(app, LEDGER, TEST_SLOTS)


def created_ids_key(app: str) -> str:
    """The ids of the test ad accounts the app has created (from ``x-restli-id``)."""
    return bucket_key(app, LEDGER, TEST_IDS)


def persistent_keys(app: str) -> tuple[str, str, str]:
    """Every key of ``app`` that is meant to live without a TTL: its edited accounts, its
    test-account slots and its test-account ids, in that order (``reset`` reads them so)."""
    return edited_key(app), created_slots_key(app), created_ids_key(app)

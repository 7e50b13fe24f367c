"""The sandbox's in-memory entities: one keyed map per collection, plus singleton resources.

A collection is a resource path without its trailing key (``("adAccounts",)``,
``("adAccounts", "500001", "adCampaigns")``). Keys are the decoded key strings; entities are
copied in and out so callers never share state with the store.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from gateway.sandbox.fixtures import (
    FIRST_POST_NUMBER,
    POST_COUNT,
    CollectionPath,
    JsonObject,
    Seed,
)

# Collections whose new entities get a URN id rather than a number (Posts API: the new
# post's id is ``urn:li:share:N`` in ``x-restli-id``).
URN_ID_PREFIXES: Mapping[str, str] = {"posts": "urn:li:share:", "ugcPosts": "urn:li:ugcPost:"}
FIRST_NUMERIC_ID = 900001

EntityId = str | int


class PatchError(ValueError):
    """A Rest.li partial update whose ``patch`` document is malformed."""


def apply_patch(entity: JsonObject, patch: Mapping[str, object]) -> None:
    """Apply a Rest.li patch in place.

    Rest.li protocol, "Partial update": ``{"$set": {...}, "$delete": [...], "field": {...}}``,
    where a plain field name holds a nested patch for that sub-record.
    """
    for name, value in patch.items():
        if name == "$set":
            if not isinstance(value, dict):
                raise PatchError("$set must be an object")
            entity.update(copy.deepcopy(value))
        elif name == "$delete":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PatchError("$delete must be a list of field names")
            for field in value:
                entity.pop(field, None)
        elif isinstance(value, dict):
            child = entity.get(name)
            if not isinstance(child, dict):
                child = {}
                entity[name] = child
            apply_patch(child, value)
        else:
            raise PatchError(f"unsupported patch operation for {name!r}")


class EntityStore:
    def __init__(self, seed: Seed) -> None:
        self._singletons = copy.deepcopy(seed.singletons)
        self._collections = copy.deepcopy(seed.collections)
        self._last_number = FIRST_NUMERIC_ID - 1
        self._last_urn_number = FIRST_POST_NUMBER + POST_COUNT - 1

    def singleton(self, api: str, path: CollectionPath) -> JsonObject | None:
        found = self._singletons.get((api, path))
        return copy.deepcopy(found) if found is not None else None

    def get(self, collection: CollectionPath, key: str) -> JsonObject | None:
        found = self._collections.get(collection, {}).get(key)
        return copy.deepcopy(found) if found is not None else None

    def elements(self, collection: CollectionPath) -> list[JsonObject]:
        return copy.deepcopy(list(self._collections.get(collection, {}).values()))

    def create(self, collection: CollectionPath, entity: JsonObject) -> EntityId:
        """Store a new entity under a fresh id; the id is also written into the entity."""
        new_id = self._next_id(collection)
        stored = copy.deepcopy(entity)
        stored["id"] = new_id
        self._collections.setdefault(collection, {})[str(new_id)] = stored
        return new_id

    def replace(self, collection: CollectionPath, key: str, entity: JsonObject) -> bool:
        entities = self._collections.get(collection, {})
        if key not in entities:
            return False
        entities[key] = self._with_kept_id(entities[key], entity)
        return True

    def upsert(self, collection: CollectionPath, key: str, entity: JsonObject) -> bool:
        """Replace or create the entity at ``key``; True when it was created."""
        entities = self._collections.setdefault(collection, {})
        created = key not in entities
        entities[key] = (
            copy.deepcopy(entity) if created else self._with_kept_id(entities[key], entity)
        )
        return created

    def patch(self, collection: CollectionPath, key: str, patch: Mapping[str, object]) -> bool:
        """Apply a Rest.li patch; False when the entity does not exist. Raises PatchError."""
        entities = self._collections.get(collection, {})
        current = entities.get(key)
        if current is None:
            return False
        updated = copy.deepcopy(current)
        apply_patch(updated, patch)
        if "id" in current:
            updated["id"] = current["id"]
        entities[key] = updated
        return True

    def delete(self, collection: CollectionPath, key: str) -> bool:
        return self._collections.get(collection, {}).pop(key, None) is not None

    @staticmethod
    def _with_kept_id(current: JsonObject, entity: JsonObject) -> JsonObject:
        # An UPDATE replaces the record but cannot change its key.
        replaced = copy.deepcopy(entity)
        if "id" in current:
            replaced["id"] = current["id"]
        return replaced

    def _next_id(self, collection: CollectionPath) -> EntityId:
        # One counter per id kind keeps new ids unique across collections, as LinkedIn's are.
        prefix = URN_ID_PREFIXES.get(collection[-1]) if collection else None
        if prefix is None:
            self._last_number += 1
            return self._last_number
        self._last_urn_number += 1
        return f"{prefix}{self._last_urn_number}"

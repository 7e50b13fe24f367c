"""Rest.li methods answered from the entity store, in the shapes the official SDK parses.

Shapes follow Rest.li protocol 2.0 and ``linkedin_api/clients/restli/response_formatter.py``:
batch maps keyed by the encoded key, collections as ``elements`` + ``paging``, a created
entity's id in ``x-restli-id``, batch results as ``{"status": ...}`` per key.

Paths alternate collection names and keys (``/adAccounts/{id}/adCampaigns/{id}``), so a
path with an even number of segments ends in a key and an odd one names a collection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway.restli.facts import RequestFacts
from gateway.restli.methods import RestliMethod
from gateway.restli.syntax import split_top_level
from gateway.sandbox.fixtures import CollectionPath, JsonObject
from gateway.sandbox.store import EntityStore, PatchError
from gateway.sandbox.uploads import is_upload_action, upload_action
from gateway.sandbox.wire import (
    InputError,
    bad_request,
    encode_key,
    json_object_body,
    json_response,
    not_found_body,
    page_bounds,
    status_error_body,
)

# Resources where UPDATE creates a missing key: LinkedIn creates a webhook subscription
# with a PUT on its complex key (organization-social-action-notifications).
UPSERT_COLLECTIONS = frozenset({"eventSubscriptions"})


@dataclass(frozen=True)
class Call:
    """A classified API request and the bytes it carried."""

    facts: RequestFacts
    content_type: str
    body: bytes | None
    # Where this sandbox is reached, for URLs it hands out (media upload URLs).
    base_url: str = ""
    now_ms: int = 0

    @property
    def collection(self) -> CollectionPath:
        segments = self.facts.segments
        return segments[:-1] if self.key is not None else segments

    @property
    def key(self) -> str | None:
        segments = self.facts.segments
        return segments[-1] if len(segments) >= 2 and len(segments) % 2 == 0 else None

    def entity(self) -> dict[str, Any]:
        return json_object_body(self.content_type, self.body)

    def location(self, entity_id: object) -> str:
        parts = [quote(s, safe="") for s in (*self.facts.segments, str(entity_id))]
        return "/" + self.facts.api + "/" + "/".join(parts)


def answer(store: EntityStore, call: Call) -> web.Response:
    """The sandbox's response to one classified, authenticated API request."""
    facts = call.facts
    if not facts.segments:
        return _not_found()
    singleton = store.singleton(facts.api, facts.segments) if call.key is None else None
    if singleton is not None:
        # A simple resource (/me, /userinfo) is read with a plain GET, which a classifier
        # without X-RestLi-Method sees as a GET_ALL on a one-segment path.
        if facts.restli_method in (RestliMethod.GET, RestliMethod.GET_ALL):
            return json_response(singleton)
        return json_response(status_error_body(405), status=405)
    try:
        return _HANDLERS[facts.restli_method](store, call)
    except (InputError, PatchError) as exc:
        return bad_request(str(exc))


def _not_found() -> web.Response:
    return json_response(not_found_body(), status=404)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _required_key(call: Call) -> str:
    if call.key is None:
        raise InputError(f"{call.facts.restli_method} needs an entity key in the path")
    return call.key


def _required_ids(call: Call) -> tuple[str, ...]:
    if not call.facts.batch_ids:
        raise InputError(f"{call.facts.restli_method} needs ids=List(...) in the query")
    return call.facts.batch_ids


def _page(elements: list[JsonObject], call: Call) -> dict[str, object]:
    start, count = page_bounds(call.facts.query)
    return {
        "elements": elements[start : start + count],
        "paging": {"start": start, "count": count, "total": len(elements), "links": []},
    }


def _get(store: EntityStore, call: Call) -> web.Response:
    key = call.key
    if key is None:
        # A GET on a collection without a key is Rest.li's GET_ALL.
        return _collection(store, call)
    entity = store.get(call.collection, key)
    return json_response(entity) if entity is not None else _not_found()


def _collection(store: EntityStore, call: Call) -> web.Response:
    # Finders match on nothing: any q returns the whole collection, paged.
    return json_response(_page(store.elements(call.facts.segments), call))


def _batch_get(store: EntityStore, call: Call) -> web.Response:
    results: dict[str, JsonObject] = {}
    statuses: dict[str, int] = {}
    errors: dict[str, object] = {}
    for key in _required_ids(call):
        encoded = encode_key(key)
        entity = store.get(call.facts.segments, key)
        if entity is None:
            errors[encoded] = not_found_body()
        else:
            results[encoded] = entity
            statuses[encoded] = 200
    return json_response({"results": results, "statuses": statuses, "errors": errors})


def _batch_finder(store: EntityStore, call: Call) -> web.Response:
    criteria = [
        value
        for name, value in call.facts.query
        if name not in {"bq", "ids"} and value.startswith("List(") and value.endswith(")")
    ]
    groups = split_top_level(criteria[0][5:-1]) if criteria else [""]
    elements = store.elements(call.facts.segments)
    page = _page(elements, call)
    return json_response({"elements": [{**page, "isError": False} for _ in groups]})


def _create(store: EntityStore, call: Call) -> web.Response:
    new_id = store.create(call.facts.segments, call.entity())
    headers = {"x-restli-id": str(new_id), "Location": call.location(new_id)}
    return web.Response(status=201, headers=headers)


def _batch_create(store: EntityStore, call: Call) -> web.Response:
    elements = call.entity().get("elements")
    if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
        raise InputError('BATCH_CREATE needs a body {"elements": [object, ...]}')
    created = [store.create(call.facts.segments, element) for element in elements]
    return json_response({"elements": [{"status": 201, "id": new_id} for new_id in created]})


def _update(store: EntityStore, call: Call) -> web.Response:
    key = _required_key(call)
    entity = call.entity()
    if call.collection[-1] in UPSERT_COLLECTIONS:
        created = store.upsert(call.collection, key, entity)
        return web.Response(status=201) if created else _no_content()
    return _no_content() if store.replace(call.collection, key, entity) else _not_found()


def _patch_of(document: object) -> Mapping[str, object]:
    patch = document.get("patch") if isinstance(document, dict) else None
    if not isinstance(patch, dict):
        raise InputError('A partial update needs a body {"patch": {"$set": {...}}}')
    return patch


def _partial_update(store: EntityStore, call: Call) -> web.Response:
    key = _required_key(call)
    patch = _patch_of(call.entity())
    return _no_content() if store.patch(call.collection, key, patch) else _not_found()


def _delete(store: EntityStore, call: Call) -> web.Response:
    key = _required_key(call)
    return _no_content() if store.delete(call.collection, key) else _not_found()


def _batch_entities(call: Call) -> Mapping[str, object]:
    entities = call.entity().get("entities")
    if not isinstance(entities, dict):
        raise InputError('A batch update needs a body {"entities": {id: ...}}')
    return entities


def _batch_write(call: Call, write: Callable[[str, str], bool | None]) -> web.Response:
    """Run ``write`` per id: True -> 204, False -> 404, None -> 400 (no entity for the id)."""
    results: dict[str, object] = {}
    errors: dict[str, object] = {}
    for key in _required_ids(call):
        encoded = encode_key(key)
        outcome = write(key, encoded)
        if outcome is True:
            results[encoded] = {"status": 204}
        elif outcome is False:
            errors[encoded] = not_found_body()
        else:
            errors[encoded] = status_error_body(400, f"No entity given for id {encoded}")
    return json_response({"results": results, "errors": errors})


def _batch_update(store: EntityStore, call: Call) -> web.Response:
    entities = _batch_entities(call)

    def write(key: str, encoded: str) -> bool | None:
        entity = entities.get(encoded, entities.get(key))
        if not isinstance(entity, dict):
            return None
        return store.replace(call.facts.segments, key, entity)

    return _batch_write(call, write)


def _batch_partial_update(store: EntityStore, call: Call) -> web.Response:
    entities = _batch_entities(call)

    def write(key: str, encoded: str) -> bool | None:
        document = entities.get(encoded, entities.get(key))
        if document is None:
            return None
        return store.patch(call.facts.segments, key, _patch_of(document))

    return _batch_write(call, write)


def _batch_delete(store: EntityStore, call: Call) -> web.Response:
    return _batch_write(call, lambda key, _encoded: store.delete(call.facts.segments, key))


def _action(store: EntityStore, call: Call) -> web.Response:
    parameters = call.entity() if call.body and call.body.strip() else {}
    action = call.facts.query_value("action")
    if action is not None and is_upload_action(call.facts.segments, action):
        segment = call.facts.segments[0]
        return upload_action(store, segment, action, parameters, call.base_url, call.now_ms)
    # Other actions are echoed: enough for a client to see its call arrive and parse a value.
    return json_response(
        {
            "value": {
                "action": call.facts.query_value("action"),
                "resource": "/".join(call.facts.segments),
                "parameters": parameters,
            }
        }
    )


_HANDLERS: Mapping[RestliMethod, Callable[[EntityStore, Call], web.Response]] = {
    RestliMethod.GET: _get,
    RestliMethod.BATCH_GET: _batch_get,
    RestliMethod.GET_ALL: _collection,
    RestliMethod.FINDER: _collection,
    RestliMethod.BATCH_FINDER: _batch_finder,
    RestliMethod.CREATE: _create,
    RestliMethod.BATCH_CREATE: _batch_create,
    RestliMethod.UPDATE: _update,
    RestliMethod.BATCH_UPDATE: _batch_update,
    RestliMethod.PARTIAL_UPDATE: _partial_update,
    RestliMethod.BATCH_PARTIAL_UPDATE: _batch_partial_update,
    RestliMethod.DELETE: _delete,
    RestliMethod.BATCH_DELETE: _batch_delete,
    RestliMethod.ACTION: _action,
}

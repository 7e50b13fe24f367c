"""Media uploads as LinkedIn runs them: initializeUpload, then a PUT of the bytes elsewhere.

``POST /rest/images|videos|documents?action=initializeUpload`` with
``{"initializeUploadRequest": {"owner": URN, ...}}`` answers the new asset's URN and the URL
to PUT the bytes to (images-api, videos-api, documents-api). At LinkedIn that URL is on
another host, never the API; here it is the sandbox's own ``/__sandbox/upload/...``, which
marks the asset ``AVAILABLE``. Videos finish with ``?action=finalizeUpload``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway.sandbox.fixtures import JsonObject
from gateway.sandbox.store import EntityStore
from gateway.sandbox.wire import InputError, json_response

# Collection -> the URN kind of its assets and the field naming the asset in the answer.
ASSETS: Mapping[str, str] = {"images": "image", "videos": "video", "documents": "document"}
UPLOAD_PATH = "/__sandbox/upload/"
# Seconds an upload URL stays valid (images-api: uploadUrlExpiresAt, about a day).
URL_LIFETIME_MS = 86_400_000

_numbers = itertools.count(1)


def is_upload_action(collection: tuple[str, ...], action: str | None) -> bool:
    return (
        len(collection) == 1
        and collection[0] in ASSETS
        and action
        in {
            "initializeUpload",
            "finalizeUpload",
        }
    )


def _owner(parameters: Mapping[str, Any]) -> str:
    request = parameters.get("initializeUploadRequest")
    owner = request.get("owner") if isinstance(request, dict) else None
    if not isinstance(owner, str) or not owner.startswith("urn:li:"):
        raise InputError('initializeUpload needs {"initializeUploadRequest": {"owner": URN}}')
    return owner


def upload_action(
    store: EntityStore,
    collection: str,
    action: str,
    parameters: Mapping[str, Any],
    base_url: str,
    now_ms: int,
) -> web.Response:
    """The answer to an upload action on ``collection`` (images, videos or documents)."""
    kind = ASSETS[collection]
    if action == "finalizeUpload":
        request = parameters.get("finalizeUploadRequest")
        video = request.get("video") if isinstance(request, dict) else None
        if not isinstance(video, str) or store.get((collection,), video) is None:
            raise InputError('finalizeUpload needs {"finalizeUploadRequest": {"video": URN}}')
        store.patch((collection,), video, {"$set": {"status": "AVAILABLE"}})
        return web.Response(status=200)
    owner = _owner(parameters)
    urn = f"urn:li:{kind}:SBX{next(_numbers):08d}"
    upload_url = f"{base_url}{UPLOAD_PATH}{quote(urn, safe='')}"
    entity: JsonObject = {"id": urn, "owner": owner, "status": "WAITING_UPLOAD"}
    store.upsert((collection,), urn, entity)
    expires = now_ms + URL_LIFETIME_MS
    value: JsonObject = {"uploadUrlExpiresAt": expires, kind: urn}
    if kind == "video":
        value["uploadInstructions"] = [{"uploadUrl": upload_url, "firstByte": 0, "lastByte": 0}]
        value["uploadToken"] = ""
    else:
        value["uploadUrl"] = upload_url
    return json_response({"value": value})


def receive_upload(store: EntityStore, urn: str) -> bool:
    """The bytes of ``urn`` arrived: the asset becomes AVAILABLE. False for an unknown one."""
    kind = urn.split(":")[2] if urn.count(":") >= 3 else ""
    collection = next((c for c, k in ASSETS.items() if k == kind), None)
    if collection is None:
        return False
    return store.patch((collection,), urn, {"$set": {"status": "AVAILABLE"}})

"""A built-in LinkedIn look-alike: try the gateway with no credentials and no network.

``make_sandbox_app()`` is an aiohttp application that answers every path under ``/rest/``
and ``/v2/`` the way LinkedIn's Rest.li APIs do, from an in-memory store seeded with
fixtures (``fixtures.py``): ``/rest/me`` and ``/v2/me``, ``/v2/userinfo``, organizations
1-3, ad accounts 500001-500003 with their ``adCampaignGroups`` and ``adCampaigns``, three
posts keyed ``urn:li:share:N``, ``organizationAcls`` (the member is ADMINISTRATOR of
organizations 1-3), ``adAccountUsers`` (ACCOUNT_MANAGER of 500001), events 810001-810002
(organized by organization 1) and conversion rule 820001 (of ad account 500001). State
belongs to the application instance. ``run_sandbox(host, port)`` serves one and blocks.

LinkedIn's checks, in its order:

* a path outside ``/rest/`` and ``/v2/`` -> 404 ``NOT_FOUND``;
* no ``Authorization: Bearer <token>`` -> 401 ``INVALID_ACCESS_TOKEN`` (65600); any
  non-empty token is accepted and authenticates as the app's ``member``, except the
  tokens the sandbox issued itself (``gateway.sandbox.oauth``): those authenticate as their
  own member and get 65601 / 65602 once revoked or expired;
* ``/rest/`` without ``LinkedIn-Version`` -> 400 ``VERSION_MISSING``; a version that is not
  ``YYYYMM``, ``YYYYMM.RR`` or ``YYYYMMDD``, or is 202304 or older -> 426
  ``NONEXISTENT_VERSION``;
* a request :func:`gateway.restli.classify.classify` refuses -> its status and error body.

Rest.li answers: GET -> the entity (404 when unknown); BATCH_GET -> ``results`` /
``statuses`` / ``errors`` keyed by the encoded id; GET_ALL and FINDER -> ``elements`` and
``paging`` honouring ``start`` / ``count`` (default 10; finders do not filter); CREATE ->
201 with ``x-restli-id`` and ``Location``; BATCH_CREATE -> ``elements`` of ``{status, id}``;
UPDATE / PARTIAL_UPDATE / DELETE -> 204 (404 when unknown; an UPDATE of a missing
``eventSubscriptions`` key creates it, 201); BATCH_UPDATE / BATCH_PARTIAL_UPDATE /
BATCH_DELETE -> ``results`` of ``{"status": 204}`` and ``errors`` for unknown ids;
ACTION -> 200 ``{"value": {"action", "resource", "parameters"}}`` echoing the call, except
the media uploads (``gateway.sandbox.uploads``): ``images``, ``videos`` and ``documents``
``?action=initializeUpload`` answer the new asset's URN and an upload URL on the sandbox
(the asset reads ``WAITING_UPLOAD`` until the bytes are PUT there, then ``AVAILABLE``);
``videos?action=finalizeUpload`` answers 200.
Create and update bodies must be JSON objects (also inside a tunneled multipart/mixed
body), else 400. Every response carries ``x-li-uuid``, ``x-li-fabric: sandbox``,
``x-li-request-id`` and ``X-RestLi-Protocol-Version: 2.0.0``.

Test knobs, for building faults behind a gateway (request headers, applied in this order
after the request is counted and before the checks above):

``X-Sandbox-Delay: <seconds>``
    Sleep that long (a float from 0 to 30) before answering; anything else -> 400.
``X-Sandbox-Status: <code>``
    Answer that status (400-599) with a LinkedIn-shaped body, e.g. 429
    ``TOO_MANY_REQUESTS`` (serviceErrorCode 101), 401 ``INVALID_ACCESS_TOKEN``, 403
    ``ACCESS_DENIED`` naming ``resource.METHOD.version``, 500 ``INTERNAL_SERVER_ERROR``.

Sandbox-only endpoints (never counted):

``GET /__sandbox/stats``
    ``{"requests": N, "by_method": {"GET": n, "BATCH_GET": n, ...}}``: requests received
    outside ``/__sandbox/``, by Rest.li method (by HTTP verb when not classifiable).
``POST /__sandbox/reset``
    Zero the counters (204). With ``?data=true`` also restore the fixtures.
``PUT /__sandbox/upload/{asset URN}``
    The media bytes of an initialized upload (201; 404 for an unknown asset).
"""

from __future__ import annotations

from gateway.sandbox.app import make_sandbox_app, run_sandbox

__all__ = ["make_sandbox_app", "run_sandbox"]

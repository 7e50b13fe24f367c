"""What a request really is: its Rest.li method, batch ids and tunneled query. Pure.

Sources: LinkedIn API guide, "Methods", "Query tunneling" and "Protocol version"; Rest.li's
``QueryTunnelUtil`` (the override header is honoured on a form or multipart/mixed body, and
the tunneled query is appended to the URL query); the official SDK
(``linkedin_api.clients.restli.utils.query_tunneling``), which tunnels every query longer
than 4000 characters. Whatever the spelling, the request is classified on everything the
upstream will read, or refused with a 400.
"""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from gateway.errors import BadRequest, GatewayError, Refusal
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import HTTP_VERB, READ_METHODS, RestliMethod
from gateway.restli.paths import ResourcePath, parse_resource_path, split_target
from gateway.restli.query import (
    FORM_URLENCODED,
    MULTIPART_MIXED,
    QueryParam,
    batch_ids,
    check_decision_params,
    decode_form_bytes,
    media_type_of,
    parse_content_type,
    parse_query,
    parse_tunneled_multipart,
    restli_method_params,
)

Headers = CIMultiDictProxy[str] | CIMultiDict[str]

METHOD_OVERRIDE = "X-HTTP-Method-Override"
RESTLI_METHOD = "X-RestLi-Method"
LINKEDIN_VERSION = "LinkedIn-Version"
CONTENT_TYPE = "Content-Type"

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})


def needs_body(wire_method: str, headers: Headers) -> bool:
    """True when the body must be read before :func:`classify` can decide.

    That is a method override (the query may be in the body), a multipart/mixed body, or a
    form-encoded POST (LinkedIn API guide, "Query tunneling").
    """
    if METHOD_OVERRIDE in headers:
        return True
    for value in headers.getall(CONTENT_TYPE, []):
        media_type = media_type_of(value)
        if media_type == MULTIPART_MIXED:
            return True
        if media_type == FORM_URLENCODED and wire_method == "POST":
            return True
    return False


def _single_header(headers: Headers, name: str) -> str | None:
    """The stripped value of a header; repeated different values are ambiguous."""
    values = {value.strip(" \t") for value in headers.getall(name, [])}
    if len(values) > 1:
        raise BadRequest(f"The {name} header is repeated with different values.")
    return values.pop() if values else None


def _method_not_allowed(wire_method: str) -> GatewayError:
    shown = wire_method if wire_method.isascii() and wire_method.isprintable() else "?"
    return GatewayError(
        Refusal(
            status=405,
            reason="method_not_allowed",
            code="METHOD_NOT_ALLOWED",
            message=f"The HTTP method {shown[:32]!r} is not allowed; use GET, POST, PUT or DELETE.",
        )
    )


def _tunnel(
    wire_method: str, headers: Headers, body: bytes | None
) -> tuple[str, tuple[QueryParam, ...]]:
    """The effective HTTP method and the tunneled query parameters (empty if none)."""
    override = _single_header(headers, METHOD_OVERRIDE)
    content_type = _single_header(headers, CONTENT_TYPE)
    media_type = media_type_of(content_type) if content_type is not None else None
    if override is None:
        # Without the override Rest.li does not read the body as a query, so a form or
        # multipart/mixed body would be read differently by us and by the upstream.
        if media_type == MULTIPART_MIXED:
            raise BadRequest(f"A multipart/mixed body needs the {METHOD_OVERRIDE} header.")
        if media_type == FORM_URLENCODED and wire_method == "POST":
            raise BadRequest(f"A form-encoded body needs the {METHOD_OVERRIDE} header.")
        return wire_method, ()
    if wire_method != "POST":
        raise BadRequest(f"{METHOD_OVERRIDE} is accepted only on POST.")
    method = override.upper()
    if method not in HTTP_METHODS:
        raise BadRequest(f"{METHOD_OVERRIDE} must be GET, POST, PUT or DELETE.")
    if body is None:
        raise BadRequest("A tunneled request needs its body.")
    if content_type is None:
        raise BadRequest("A tunneled request needs a Content-Type.")
    parsed_type, _ = parse_content_type(content_type)
    if parsed_type == FORM_URLENCODED:
        return method, parse_query(decode_form_bytes(body), form=True)
    if parsed_type == MULTIPART_MIXED:
        multipart = parse_tunneled_multipart(body, content_type)
        return method, parse_query(multipart.query, form=True)
    raise BadRequest(f"A tunneled request must have a {FORM_URLENCODED} or {MULTIPART_MIXED} body.")


def _declared_method(headers: Headers, params: tuple[QueryParam, ...]) -> RestliMethod | None:
    values = {value.strip(" \t").upper() for value in headers.getall(RESTLI_METHOD, [])}
    values.update(value.strip(" \t").upper() for value in restli_method_params(params))
    if len(values) > 1:
        raise BadRequest(f"{RESTLI_METHOD} is given with different values.")
    if not values:
        return None
    value = values.pop()
    try:
        return RestliMethod(value)
    except ValueError:
        raise BadRequest(f"{RESTLI_METHOD} names no Rest.li method.") from None


def _has(params: tuple[QueryParam, ...], name: str) -> bool:
    return any(p.key == name for p in params)


def _infer_method(
    method: str, path: ResourcePath, params: tuple[QueryParam, ...], has_ids: bool
) -> RestliMethod:
    # Rest.li paths alternate resource and key, so an even count ends in a key.
    ends_in_key = len(path.segments) % 2 == 0
    if method == "GET":
        if has_ids:
            return RestliMethod.BATCH_GET
        if _has(params, "q") and _has(params, "bq"):
            raise BadRequest("A request cannot be both a finder (q) and a batch finder (bq).")
        if _has(params, "q"):
            return RestliMethod.FINDER
        if _has(params, "bq"):
            return RestliMethod.BATCH_FINDER
        return RestliMethod.GET if ends_in_key else RestliMethod.GET_ALL
    if method == "POST":
        if _has(params, "action"):
            return RestliMethod.ACTION
        if has_ids:
            return RestliMethod.BATCH_PARTIAL_UPDATE
        return RestliMethod.PARTIAL_UPDATE if ends_in_key else RestliMethod.CREATE
    if method == "PUT":
        return RestliMethod.BATCH_UPDATE if has_ids else RestliMethod.UPDATE
    return RestliMethod.BATCH_DELETE if has_ids else RestliMethod.DELETE


def _restli_method(
    method: str,
    declared: RestliMethod | None,
    path: ResourcePath,
    params: tuple[QueryParam, ...],
    has_ids: bool,
) -> RestliMethod:
    if declared is None:
        return _infer_method(method, path, params, has_ids)
    if HTTP_VERB[declared] != method:
        raise BadRequest(f"{RESTLI_METHOD} {declared.value} does not go with HTTP {method}.")
    # A read naming ids reads several entities, whatever the header says: a batch read
    # must not hide behind X-RestLi-Method: GET (Community Management Development tier
    # forbids BATCH_GET).
    if declared in READ_METHODS and has_ids:
        return RestliMethod.BATCH_GET
    return declared


def classify(
    wire_method: str,
    raw_target: str,
    headers: Headers,
    body: bytes | None,
) -> RequestFacts:
    """Classify a request from its method, raw request-target, headers and (maybe) body.

    ``raw_target`` is the request-target exactly as received (origin-form, path and query);
    ``body`` must be given when :func:`needs_body` says so. The effective query is the URL
    query followed by the tunneled one, as Rest.li reads it. Raises :class:`BadRequest` for
    anything ambiguous, :class:`GatewayError` 404 outside /rest and /v2 and 405 for verbs
    other than GET, POST, PUT and DELETE.
    """
    raw_path, raw_query = split_target(raw_target)
    path = parse_resource_path(raw_path)
    if wire_method not in HTTP_METHODS:
        raise _method_not_allowed(wire_method)
    if body is None and needs_body(wire_method, headers):
        raise BadRequest("The request body is needed to classify this request.")
    method, tunneled_params = _tunnel(wire_method, headers, body)
    tunneled = METHOD_OVERRIDE in headers
    params = parse_query(raw_query, form=False) + tunneled_params
    check_decision_params(params)
    ids = batch_ids(params)
    declared = _declared_method(headers, params)
    restli_method = _restli_method(method, declared, path, params, ids is not None)
    version = _single_header(headers, LINKEDIN_VERSION)
    return RequestFacts(
        wire_method=wire_method,
        method=method,
        restli_method=restli_method,
        api=path.api,
        segments=path.segments,
        raw_path=raw_path,
        raw_query=raw_query,
        query=tuple((p.key, p.value) for p in params),
        batch_ids=ids if ids is not None else (),
        tunneled=tunneled,
        version=version or None,
    )

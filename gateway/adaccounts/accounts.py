"""Which ad accounts a write names: in its path, its keys and query, its JSON body. Pure.

LinkedIn writes an ad account as a number in paths (``/rest/adAccounts/123/...``) and as
``urn:li:sponsoredAccount:123`` in bodies, compound keys and ``List(...)`` query values,
percent-encoded there (linkedin-facts §7; Rest.li protocol 2.0 encoding). Every spelling the
upstream will read is read here too; an account reference the gateway cannot read is a 400,
never a write that slips past the count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import unquote

from gateway.catalog.model import Catalog, Route, RouteMatch
from gateway.catalog.routes import pattern_key
from gateway.errors import BadRequest
from gateway.restli.facts import RequestFacts
from gateway.restli.query import MULTIPART_MIXED, media_type_of, parse_tunneled_multipart

SPONSORED_ACCOUNT = "urn:li:sponsoredAccount:"
ACCOUNT_PARAM = "account"
# Collections whose keys are ad account ids (``/rest/adAccounts/123``, ``/v2/adAccountsV2/123``).
ACCOUNT_COLLECTIONS = frozenset({"adaccounts", "adaccountsv2"})
# LinkedIn ids are 64-bit numbers.
MAX_ID_DIGITS = 19
_ID = re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}")
# The id part ends where a URN inside a compound key or a List(...) ends.
_URN_IN_TEXT = re.compile(re.escape(SPONSORED_ACCOUNT) + r"([^,()\s\"'&:]*)")
_SHOWN = 80


def account_urn(account: str) -> str:
    """``urn:li:sponsoredAccount:<id>`` for a numeric account id."""
    return SPONSORED_ACCOUNT + account


def _normal_id(digits: str, shown: str) -> str:
    if not _ID.fullmatch(digits):
        raise BadRequest(
            f"{shown[:_SHOWN]!r} is not a valid ad account: expected "
            f"{SPONSORED_ACCOUNT}<number> or a numeric account id"
        )
    # One account, one spelling: 0042 and 42 are the same account to LinkedIn.
    return str(int(digits))


def parse_account(value: str) -> str:
    """The numeric id of an account key: a bare id or a sponsoredAccount URN. 400 otherwise."""
    digits = value[len(SPONSORED_ACCOUNT) :] if value.startswith(SPONSORED_ACCOUNT) else value
    return _normal_id(digits, value)


def accounts_in_text(text: str) -> set[str]:
    """Every sponsoredAccount URN in ``text``, also percent-encoded; 400 on a malformed one."""
    found: set[str] = set()
    spellings = {text, unquote(text)} if "%" in text else {text}
    for spelling in spellings:
        for match in _URN_IN_TEXT.finditer(spelling):
            found.add(_normal_id(match.group(1), match.group(0)))
    return found


def _strings(document: object) -> Iterator[str]:
    # Iterative: a deeply nested body must not exhaust the interpreter's stack.
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, value in item.items():
                yield key
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def accounts_in_json(document: object) -> set[str]:
    """Every account named anywhere in a JSON document: values and keys (batch bodies are
    keyed by entity key), e.g. ``account``, ``elements[].account``, ``patch.$set.account``."""
    found: set[str] = set()
    for text in _strings(document):
        found |= accounts_in_text(text)
    return found


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # RFC 8259 §4: with duplicate names "the behavior of software that receives such an
    # object is unpredictable"; the gateway and LinkedIn must read one body the same way.
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise BadRequest(f"The JSON body repeats the key {key[:_SHOWN]!r}.")
        out[key] = value
    return out


def json_entity(body: bytes | None, content_type: str | None, *, tunneled: bool) -> object:
    """The JSON entity a write carries, or None when it has none.

    A tunneled write carries it as the second part of a multipart/mixed body (API guide,
    "Query tunneling"); a form-encoded tunneled body is only a query. Anything else must be
    JSON, as Rest.li bodies are: otherwise 400.
    """
    if tunneled:
        if content_type is None or body is None or media_type_of(content_type) != MULTIPART_MIXED:
            return None
        body = parse_tunneled_multipart(body, content_type).entity
    if body is None or not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(
            "The body of a write on an ad-account resource must be JSON: the gateway reads "
            "the ad accounts it names."
        ) from None


def keys_are_accounts(catalog: Catalog, route: Route) -> bool:
    """True for a collection whose entities are ad accounts (``/rest/adAccounts``): its item
    route in the catalog names its key ``{account}``."""
    wanted = pattern_key((*route.segments, "{key}"))
    return any(
        other.api == route.api
        and other.segments[-1:] == ("{" + ACCOUNT_PARAM + "}",)
        and pattern_key(other.segments) == wanted
        for other in catalog.routes
    )


def _keys(params: Mapping[str, str], ids: Iterable[str], strict: bool) -> set[str]:
    found: set[str] = set()
    for name, value in params.items():
        if name == ACCOUNT_PARAM:
            found.add(parse_account(value))
        else:
            found |= accounts_in_text(value)
    for key in ids:
        if strict:
            found.add(parse_account(key))
        else:
            found |= accounts_in_text(key)
    return found


def _path_accounts(segments: tuple[str, ...]) -> set[str]:
    """Accounts in any path, catalogued or not: URNs in any segment, and the key after an
    ``adAccounts`` collection (Rest.li paths alternate collection and key)."""
    found: set[str] = set()
    for i, segment in enumerate(segments):
        found |= accounts_in_text(segment)
        if segment.casefold() in ACCOUNT_COLLECTIONS and i + 1 < len(segments):
            found.add(parse_account(segments[i + 1]))
    return found


def named_accounts(
    facts: RequestFacts, match: RouteMatch | None, catalog: Catalog, entity: object
) -> frozenset[str]:
    """The numeric ids of every ad account a write names.

    From the path (an ``{account}`` key, the key after ``adAccounts``, or URNs inside any
    segment), the batch ids (ad account ids themselves on ``/adAccounts``), every query
    value, and the JSON entity. ``match`` is None for a path no route matches.
    """
    strict_ids = match is not None and keys_are_accounts(catalog, match.route)
    params: Mapping[str, str] = match.params if match is not None else {}
    found = _keys(params, facts.batch_ids, strict_ids) | _path_accounts(facts.segments)
    for _, value in facts.query:
        found |= accounts_in_text(value)
    found |= accounts_in_json(entity)
    return frozenset(found)


def sort_accounts(accounts: Iterable[str]) -> tuple[str, ...]:
    """Account ids in numeric order, for messages and listings."""
    return tuple(sorted(accounts, key=lambda a: (len(a), a)))

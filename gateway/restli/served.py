"""A request against what its catalogued resource serves. Pure.

Rest.li answers a method a resource does not implement with 400 ("GET_ALL operation not
supported for URI ... with X-RestLi-Method: GET_ALL": ``RestLiRouter.findMethodDescriptor``);
the gateway gives the same answer before anything is counted, so that a declared method can
never turn a catalogued call into an unmatched one. 405 stays for HTTP verbs Rest.li does
not use at all.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.catalog.model import RouteMatch
from gateway.catalog.routes import MethodNotServed
from gateway.errors import Refusal
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import RestliMethod

METHOD_NOT_SERVED = "method_not_served"


def not_served_refusal(found: MethodNotServed, facts: RequestFacts) -> Refusal:
    """400 ``method_not_served``: the path's resource is catalogued, the method is not."""
    route = found.route
    if found.served:
        serves = f"it serves {', '.join(m.value for m in found.served)} there"
    else:
        serves = "the catalog lists no method of it at this level"
    return Refusal(
        status=400,
        reason=METHOD_NOT_SERVED,
        code="BAD_REQUEST",
        message=(
            f"{found.method.value} is not served by {route.pattern} "
            f"({facts.wire_method} {facts.resource_path}): {serves}."
        ),
    )


def served_facts(facts: RequestFacts, match: RouteMatch) -> RequestFacts:
    """``facts`` with the Rest.li method the matched rule serves: a plain read of a singleton
    resource (``/v2/me``) is its GET, not the GET_ALL its path shape suggests."""
    if facts.restli_method in match.rule.methods:
        return facts
    return replace(facts, restli_method=RestliMethod.GET)

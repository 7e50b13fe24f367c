"""Rest.li methods and the HTTP verbs that carry them.

Source: LinkedIn API guide, "Methods" (shared/api-guide/concepts/methods), and the
official SDK's ``RESTLI_METHOD_TO_HTTP_METHOD_MAP``.
"""

from __future__ import annotations

from enum import StrEnum


class RestliMethod(StrEnum):
    GET = "GET"
    BATCH_GET = "BATCH_GET"
    GET_ALL = "GET_ALL"
    FINDER = "FINDER"
    BATCH_FINDER = "BATCH_FINDER"
    CREATE = "CREATE"
    BATCH_CREATE = "BATCH_CREATE"
    UPDATE = "UPDATE"
    BATCH_UPDATE = "BATCH_UPDATE"
    PARTIAL_UPDATE = "PARTIAL_UPDATE"
    BATCH_PARTIAL_UPDATE = "BATCH_PARTIAL_UPDATE"
    DELETE = "DELETE"
    BATCH_DELETE = "BATCH_DELETE"
    ACTION = "ACTION"


HTTP_VERB: dict[RestliMethod, str] = {
    RestliMethod.GET: "GET",
    RestliMethod.BATCH_GET: "GET",
    RestliMethod.GET_ALL: "GET",
    RestliMethod.FINDER: "GET",
    RestliMethod.BATCH_FINDER: "GET",
    RestliMethod.UPDATE: "PUT",
    RestliMethod.BATCH_UPDATE: "PUT",
    RestliMethod.CREATE: "POST",
    RestliMethod.BATCH_CREATE: "POST",
    RestliMethod.PARTIAL_UPDATE: "POST",
    RestliMethod.BATCH_PARTIAL_UPDATE: "POST",
    RestliMethod.ACTION: "POST",
    RestliMethod.DELETE: "DELETE",
    RestliMethod.BATCH_DELETE: "DELETE",
}

READ_METHODS: frozenset[RestliMethod] = frozenset(
    {
        RestliMethod.GET,
        RestliMethod.BATCH_GET,
        RestliMethod.GET_ALL,
        RestliMethod.FINDER,
        RestliMethod.BATCH_FINDER,
    }
)
WRITE_METHODS: frozenset[RestliMethod] = frozenset(RestliMethod) - READ_METHODS

"""What a request really is, after classification. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.restli.methods import RestliMethod


@dataclass(frozen=True)
class RequestFacts:
    """A classified request.

    ``wire_method`` is the verb on the wire (POST for a tunneled GET);
    ``method`` the verb it means; ``restli_method`` the Rest.li method it performs.
    ``api`` is "rest" or "v2"; ``segments`` the percent-decoded path segments after it.
    ``query`` holds the effective query (from the URL, or from a tunneled body), decoded.
    ``batch_ids`` lists the ids of a batch call (``ids=List(...)`` or repeated ``ids=``).
    ``version`` is the LinkedIn-Version header, if any.
    """

    wire_method: str
    method: str
    restli_method: RestliMethod
    api: str
    segments: tuple[str, ...]
    raw_path: str
    raw_query: str
    query: tuple[tuple[str, str], ...]
    batch_ids: tuple[str, ...]
    tunneled: bool
    version: str | None

    @property
    def resource_path(self) -> str:
        return "/" + self.api + "/" + "/".join(self.segments)

    def query_value(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

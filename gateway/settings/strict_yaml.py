"""YAML for config files: safe, and a key written twice in one mapping is an error.

PyYAML keeps the last of two equal keys without a word, so a second ``store:`` further down
a file silently replaces the first. ``StrictSafeLoader`` walks the composed document before
building it and raises ``DuplicateKeys`` naming every repeated key by its key path
(``apps.acme.client_id``, ``tokens[2].app``) and both lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
import yaml.nodes

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class DuplicateKey:
    path: str
    first_line: int
    line: int

    @property
    def message(self) -> str:
        return (
            f"duplicate key (first at line {self.first_line}, again at line {self.line}): "
            "YAML would silently keep the last; remove one"
        )

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DuplicateKeys(yaml.YAMLError):
    def __init__(self, duplicates: list[DuplicateKey]) -> None:
        super().__init__("; ".join(str(d) for d in duplicates))
        self.duplicates = duplicates


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader refusing repeated mapping keys (``<<`` merges may still override)."""

    def construct_document(self, node: yaml.nodes.Node) -> Any:
        duplicates = list(self._duplicates(node, "", set()))
        if duplicates:
            raise DuplicateKeys(duplicates)
        return super().construct_document(node)

    def _duplicates(
        self, node: yaml.nodes.Node, path: str, seen_nodes: set[int]
    ) -> Iterator[DuplicateKey]:
        # Anchors make the node graph shared and possibly cyclic: visit each node once.
        if id(node) in seen_nodes:
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.nodes.MappingNode):
            first_line: dict[object, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    continue
                key = self._key(key_node)
                where = f"{path}.{key}" if path else str(key)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    yield DuplicateKey(where, first_line[key], line)
                else:
                    first_line[key] = line
                yield from self._duplicates(value_node, where, seen_nodes)
        elif isinstance(node, yaml.nodes.SequenceNode):
            for i, item in enumerate(node.value):
                yield from self._duplicates(item, f"{path}[{i}]", seen_nodes)

    def _key(self, key_node: yaml.nodes.Node) -> object:
        if isinstance(key_node, yaml.nodes.ScalarNode):
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                return id(key_node)
            return key
        # A sequence or mapping as a key is never a config key; never call two equal.
        return id(key_node)


def problem_location(exc: yaml.YAMLError) -> str:
    """``line L, column C`` of a YAML syntax error, or empty when PyYAML gives no mark."""
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def problem_text(exc: yaml.YAMLError) -> str:
    """A YAML error's cause on one line (PyYAML's own text spans several, with a snippet)."""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}: {problem}" if context else str(problem)
    return " ".join(text.split())

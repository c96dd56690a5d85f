"""YAML reading for mapping files: keys stay text, duplicates are errors, lines can be found again.

PyYAML (YAML 1.1) would read a map key ``01`` as the integer 1 and ``yes`` as True, silently changing
code values, and would let a second ``CF_XDR_MC:`` overwrite the first. Every key in the mapping
language is text, so keys are taken verbatim and a repeated key is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from creditsync.yaml_text import SAFE_LOADER


class _MappingLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """libyaml's parser and composer where there is one, with the keys and duplicates handled as below;
    the nodes keep their lines either way."""


def _construct_mapping(loader: _MappingLoader, node: yaml.MappingNode) -> dict[str, Any]:
    _refuse_duplicates(node)  # before merging: overriding a key from `<<: *anchor` is intended
    loader.flatten_mapping(node)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConstructorError(None, None, "a key must be plain text", key_node.start_mark)
        result[str(key_node.value)] = loader.construct_object(value_node, deep=True)
    return result


def _refuse_duplicates(node: yaml.MappingNode) -> None:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.value in seen:
                raise ConstructorError(None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
            seen.add(key_node.value)


_MappingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of a location in the data (keys and list indexes, as found by the loader)."""
        if self.root is None:
            return None
        return _walk(self.root, loc).start_mark.line + 1


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with its own line) on bad syntax."""
    loader = _MappingLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return YamlDocument(data, root)


def _walk(node: yaml.Node, loc: Sequence[str | int]) -> yaml.Node:
    """Follow a location that exists in the data; an unknown key points at its own line."""
    for index, part in enumerate(loc):
        match = _child(node, part)
        if match is None:
            break
        anchor, node = match
        if index == len(loc) - 1:
            return anchor
    return node


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(node to point at, node to descend into) for one location part."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(part):
                return key_node, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item, item
    return None

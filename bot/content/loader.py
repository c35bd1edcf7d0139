"""Read content/ (YAML) into plain Python, remembering file and line of everything.

Line numbers let `frontdoor content check` point at the exact place to fix;
duplicate keys, which YAML would silently overwrite, are reported too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_BOOL = "tag:yaml.org,2002:bool"
# YAML 1.1 reads yes/no/on/off as booleans; content uses them as option ids and
# words, so only true/false are booleans here.
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _RESOLVERS.setdefault(_first, []).append(
        (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"))
    )


class LineDict(dict):
    """A mapping that knows the line it started on."""

    line: int = 0


@dataclass
class LoadProblem:
    file: Path
    line: int
    message: str


@dataclass
class RawFile:
    path: Path
    data: Any
    problems: list[LoadProblem] = field(default_factory=list)


def _loader_for(path: Path, problems: list[LoadProblem]) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        yaml_implicit_resolvers = _RESOLVERS

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
        result = LineDict()
        result.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                problems.append(
                    LoadProblem(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            result[key] = loader.construct_object(value_node, deep=True)
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


def read_yaml(path: Path) -> RawFile:
    problems: list[LoadProblem] = []
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader_for(path, problems))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return RawFile(path, None, [LoadProblem(path, line, f"not valid YAML: {exc}")])
    return RawFile(path, data, problems)


def line_of(value: Any) -> int:
    return getattr(value, "line", 1)

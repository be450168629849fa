"""CloudFormation refuses a template whose resources refer to each other in a circle ("Circular
dependency between resources"), and cfn-lint does not see one that runs through SAM's functions.
The API refers to its functions, so their settings must never refer to the API."""
from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner.split(".")[0])
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text, names = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)} - set(names)
                found |= references(names)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    resources = template["Resources"]
    graph = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        wanted = references(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)
        graph[name] = {other for other in wanted if other in resources}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one resource (Tarjan), or one that names itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_finder_finds_a_circle():
    graph = dependencies({"Resources": {
        "RestAPI": {"Properties": {"Body": {"Fn::Sub": "arn:${APIHandler.Arn}/invocations"}}},
        "APIHandler": {"Properties": {"Environment": {"Variables": {"URL": {"Fn::Sub": "https://${RestAPI}.x"}}}}},
        "Table": {"Properties": {}}}})
    assert circles(graph) == [["APIHandler", "RestAPI"]]


def test_the_packaged_template_has_no_circular_dependency(sam):
    assert circles(dependencies(sam)) == []


def test_the_api_and_its_authorizer_are_not_told_the_apis_address_by_the_api(sam):
    for function in ("APIHandler", "StaffAuth"):
        assert "RestAPI" not in references(sam["Resources"][function]["Properties"]), function
    # The functions the API does not refer to are: the sweep's letters carry partner links.
    assert "RestAPI" in references(sam["Resources"]["DeadlineSweep"]["Properties"]["Environment"])

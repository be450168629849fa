"""GET /openapi.json documents every public route, and its examples are accepted as they are."""
from __future__ import annotations

import json

from openapi_spec_validator import validate

from app import app


def test_document_is_valid_openapi_31(client):
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json_body
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_documented(client):
    spec = client.http.get("/openapi.json").json_body
    for path, methods in app.routes.items():
        for method in methods:
            assert method.lower() in spec["paths"].get(path, {}), f"{method} {path} is not documented"


def test_every_example_is_accepted_as_it_is(client):
    spec = client.http.get("/openapi.json").json_body
    examples = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"victim", "on_behalf"}
    for example in examples.values():
        response = client.http.post("/applications", headers={"Content-Type": "application/json"},
                                    body=json.dumps(example["value"]))
        assert response.status_code == 201, response.json_body


def test_error_responses_are_documented(client):
    post = client.http.get("/openapi.json").json_body["paths"]["/applications"]["post"]
    assert {"201", "400", "413", "422"} <= set(post["responses"])

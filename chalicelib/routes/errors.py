"""Answers Chalice gives itself, in the same problem shape as ours: an unexpected exception (500,
logged by type only), a wrong Content-Type (415). Also the CORS headers of the application route."""
from __future__ import annotations


def every_error_is_a_problem(event, get_response):
    from chalicelib.inputs import field_error, problem_response

    from .applicants import with_cors

    response = get_response(event)
    if response.status_code == 500:
        response = problem_response(500, "Something went wrong on our side. Please try again later.", [])
    elif response.status_code == 415:
        response = problem_response(415, "Unsupported content type", field_error(
            "Content-Type", "Send JSON (Content-Type: application/json), or an HTML form where one is offered"))
    if event.path == "/applications":
        response = with_cors(response, event.headers.get("origin"))
    return response

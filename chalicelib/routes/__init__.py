"""The API's routes, as Chalice blueprints grouped by who uses them:

- applicants: the online application (JSON, or the static form posted without JavaScript);
- partners: the partner return, through an emailed secure link;
- staff: case work for the SPOC and the appeals body (bearer JWT, roles and areas);
- published: the statutory counts, public and cacheable;
- schedule: the working-day deadline sweep (EventBridge);
- docs: the OpenAPI document.

Each route is thin: it reads its input through chalicelib.inputs, calls one use case from
chalicelib.wiring, and shapes the answer. Modules import their dependencies inside the handlers,
so `import app` stays cheap on a cold start.
"""
from __future__ import annotations

import functools
from typing import Any, Callable


def answers_problems(view: Callable[..., Any]) -> Callable[..., Any]:
    """A refused request (inputs.Problem) raised anywhere below a route becomes its problem answer;
    Chalice would otherwise turn it into a 500. So does a store too busy to take the write in time
    (503: nothing was stored, and sending the same request again is safe)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.adapters.repository import StoreBusy
        from chalicelib.inputs import Problem, answer, field_error

        try:
            return view(*args, **kwargs)
        except Problem as exc:
            return answer(exc)
        except StoreBusy:
            return answer(Problem(503, "We are busy: nothing was stored; please send it again in a few seconds",
                                  field_error("body", "Nothing was stored; sending the same request again is safe"),
                                  headers={"Retry-After": "5"}))

    return wrapped

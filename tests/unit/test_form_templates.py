"""The applicant's form pages (templates/form/) render for every shipped area, collect exactly the
application's fields under the names the server parses, and are accessible: a label for every
field, ids by the documented rule and unique, hints and errors linked, headings in order, no
inline scripts or styles, and a Content-Security-Policy that lets the page's own assets load.
The start page states each area's own threshold; the confirmation its reference and dates."""
from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chalicelib.domain.policy import EXAMPLE_ADDRESS_NOTE
from chalicelib.form import page_context
from chalicelib.letters import install_filters
from chalicelib.openapi import example_application, example_on_behalf
from chalicelib.schemas import validate_application

REPO = Path(__file__).resolve().parents[2]
FORM = REPO / "templates" / "form"
AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")
ASSETS = "https://forms.example.org/{area}/assets"
API = "https://api.example.org/api"
ACTION = f"{API}/applications"
KEY = "3f1c9a52-7d0e-4b8e-9a51-0c2d6f1e8b47"
TODAY = date(2026, 11, 20)
HOSTILE = "<script>alert(1)</script>"

# Every field of ApplicationIn, by the name the server parses (incidents: one row's fields).
TOP_FIELDS = (
    "area", "basis", "victim_consent", "summary", "impact", "action_taken", "outcome_sought",
    "special_circumstances", "other_information", "keep_informed", "declaration", "information_sharing_consent",
    "asb_location.description", "asb_location.postcode",
    "equalities.gender", "equalities.age_band", "equalities.sexual_orientation", "equalities.religion",
    "equalities.disability", "equalities.ethnicity",
)
CONTACT_FIELDS = ("name", "address.line1", "address.line2", "address.town", "address.postcode",
                  "daytime_phone", "mobile_phone", "email", "preferred_contact")
APPLICANT_FIELDS = tuple(f"applicant.{f}" for f in CONTACT_FIELDS + ("relationship", "organisation"))
VICTIM_FIELDS = tuple(f"victim.{f}" for f in CONTACT_FIELDS + ("type", "tenure", "tenure_other", "landlord"))
INCIDENT_FIELDS = ("happened_on.day", "happened_on.month", "happened_on.year", "description", "reported_by",
                   "reported_on.day", "reported_on.month", "reported_on.year", "reported_to", "how_reported",
                   "officer_type", "agency_reference", "hate_motivated")
RADIOS = {
    "basis": ("victim", "on_behalf"),
    "applicant.relationship": ("family", "friend", "carer", "councillor", "mp", "professional", "other"),
    "applicant.preferred_contact": ("email", "phone", "post"),
    "victim.preferred_contact": ("email", "phone", "post"),
    "victim_consent": ("given", "to_follow"),
    "victim.type": ("individual", "business", "community_group"),
    "victim.tenure": ("owner_occupier", "private_tenant", "council_tenant", "housing_association_tenant", "other"),
}
SELECTS = {
    "how_reported": ("", "writing", "email", "phone", "in_person", "online", "officer_on_site"),
    "officer_type": ("", "police_officer", "pcso", "council_officer", "housing_officer", "other"),
}
CHECKBOXES = ("keep_informed", "declaration", "information_sharing_consent")
TEXTAREAS = ("summary", "impact", "action_taken", "outcome_sought", "special_circumstances", "other_information")


def element_id(name: str) -> str:
    return name.replace("[", "-").replace("]", "").replace(".", "-")


def all_names(rows: int) -> set[str]:
    names = set(TOP_FIELDS + APPLICANT_FIELDS + VICTIM_FIELDS)
    names |= {f"incidents[{i}].{f}" for i in range(rows) for f in INCIDENT_FIELDS}
    return names | {"idempotency_key"}


# ---------------------------------------------------------------- rendering


@pytest.fixture(scope="module")
def env() -> Environment:
    # As chalicelib/letters.py builds it (render_form_page uses the same environment).
    environment = Environment(
        loader=FileSystemLoader(str(REPO / "templates")),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    install_filters(environment)
    return environment


def base_ctx(policy) -> dict[str, Any]:
    # What form/build.py and the API give every form page.
    ctx = page_context(policy, api_url=API, site_url=ASSETS.removesuffix("/{area}/assets"))
    assert ctx["asset_base"] == ASSETS.format(area=policy.id)
    return ctx


def apply_ctx(policy, **changes) -> dict[str, Any]:
    ctx = {**base_ctx(policy), "action_url": ACTION, "values": {}, "errors": [], "error_for": {},
           "error_anchor": {}, "incident_rows": 3, "idempotency_key": KEY}
    ctx.update(changes)
    return ctx


RECEIPT = {"reference": "CT-7K3M-9QXR", "status": "acknowledged", "area": "hart", "received_on": "2026-11-20",
           "acknowledgement_due": "2026-11-27", "decision_due": "2026-12-11",
           "letters": [{"to": "applicant", "channel": "email", "status": "pending", "subject": "x"}]}


def render(env: Environment, name: str, ctx: dict[str, Any]) -> str:
    return env.get_template(f"form/{name}.html.j2").render(ctx)


def render_all(env: Environment, policy) -> dict[str, str]:
    return {
        "start": render(env, "start", {**base_ctx(policy), "apply_url": "apply.html"}),
        "apply": render(env, "apply", apply_ctx(policy)),
        "check": render(env, "check", {**apply_ctx(policy), "answers": [
            {"section": "The person affected", "rows": [{"key": "Name", "value": "Sam Taylor"}]}],
            "hidden": [("area", policy.id), ("victim.name", "Sam Taylor")]}),
        "confirmation": render(env, "confirmation", {**base_ctx(policy), "receipt": RECEIPT}),
    }


class Page(HTMLParser):
    """What the checks need from a rendered page. Content inside <template> (inert until form.js
    uses it) is collected apart."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.controls: list[dict[str, str]] = []
        self.described: list[str] = []
        self.hrefs: list[str] = []
        self.buttons: list[dict[str, str]] = []
        self.headings: list[int] = []
        self.scripts: list[dict[str, str]] = []
        self.metas: list[dict[str, str]] = []
        self.head_order: list[str] = []
        self.fieldsets = 0
        self.legends = 0
        self.template_ids: list[str] = []
        self.slots: list[str] = []
        self.options: dict[str, list[dict[str, str]]] = {}
        self.textareas: dict[str, str] = {}
        self.text = ""
        self._select: str | None = None
        self._textarea: str | None = None
        self._template = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "template":
            self._template += 1
            return
        if self._template:
            if "id" in a:
                self.template_ids.append(a["id"])
            if "data-slot" in a:
                self.slots.append(a["data-slot"])
            return
        if tag in ("meta", "link", "script"):
            self.head_order.append(tag if tag != "meta" else a.get("http-equiv", "meta"))
        if "id" in a:
            self.ids.append(a["id"])
        if a.get("aria-describedby"):
            self.described.extend(a["aria-describedby"].split())
        if tag == "label" and "for" in a:
            self.labels.append(a["for"])
        if tag in ("input", "textarea", "select"):
            self.controls.append({"tag": tag, **a})
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "button":
            self.buttons.append(a)
        if tag == "script":
            self.scripts.append(a)
        if tag == "meta":
            self.metas.append(a)
        if tag == "fieldset":
            self.fieldsets += 1
        if tag == "legend":
            self.legends += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "select":
            self._select = a["name"]
            self.options[a["name"]] = []
        if tag == "option" and self._select:
            self.options[self._select].append(a)
        if tag == "textarea":
            self._textarea = a["name"]
            self.textareas[a["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "template":
            self._template -= 1
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._template:
            return
        if self._textarea:
            self.textareas[self._textarea] += data
        self.text += data

    # -------- helpers

    def named(self, name: str) -> list[dict[str, str]]:
        return [c for c in self.controls if c.get("name") == name]

    def control(self, id_: str) -> dict[str, str]:
        [found] = [c for c in self.controls if c.get("id") == id_]
        return found

    def words(self) -> str:
        return " ".join(self.text.split())

    def submitted(self) -> list[tuple[str, str]]:
        """The fields a browser sends when this form is posted (buttons aside)."""
        out = []
        for c in self.controls:
            name = c.get("name")
            if not name:
                continue
            if c["tag"] == "input":
                if c.get("type") in ("radio", "checkbox"):
                    if "checked" in c:
                        out.append((name, c.get("value", "on")))
                else:
                    out.append((name, c.get("value", "")))
            elif c["tag"] == "textarea":
                out.append((name, self.textareas[name]))
            else:
                options = self.options[name]
                chosen = [o for o in options if "selected" in o] or options[:1]
                out.append((name, chosen[0].get("value", "")))
        return out


# ---------------------------------------------------------------- the server's parsing, as documented


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    node: Any = tree
    parts = path.split(".")
    for n, part in enumerate(parts):
        key, _, index = part.partition("[")
        last = n == len(parts) - 1
        if index:
            items = node.setdefault(key, {})
            i = int(index.rstrip("]"))
            if last:
                items[i] = value
            else:
                node = items.setdefault(i, {})
        elif last:
            node[key] = value
        else:
            node = node.setdefault(key, {})


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            return [_lists(node[k]) for k in sorted(node)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def to_application(fields: list[tuple[str, str]], checkbox_names: set[str]) -> dict[str, Any]:
    """A posted form -> the API's JSON, by the contract in apply.html.j2 (and form.js): dates
    joined as year-month-day, checkboxes true or false, empty answers left out, blank incidents
    dropped, the applicant's section dropped unless applying on behalf."""
    tree: dict[str, Any] = {}
    dates: dict[str, dict[str, str]] = {}
    sent = dict(fields)
    for name, value in fields:
        if name in ("action", "idempotency_key") or name in checkbox_names:
            continue
        part = re.fullmatch(r"(.+)\.(day|month|year)", name)
        if part:
            dates.setdefault(part.group(1), {})[part.group(2)] = value.strip()
        elif value.strip():
            _set(tree, name, value)
    for name in checkbox_names:
        _set(tree, name, sent.get(name) == "true")
    for path, p in dates.items():
        if any(p.values()):
            _set(tree, path, f"{int(p['year']):04d}-{int(p['month']):02d}-{int(p['day']):02d}")
    answers = _lists(tree)
    answers["incidents"] = [i for i in answers.get("incidents", []) if any(v not in ("", False) for v in i.values())]
    if answers.get("basis") != "on_behalf":
        answers.pop("applicant", None)
        answers.pop("victim_consent", None)
    return answers


def flatten(application: dict[str, Any]) -> dict[str, str]:
    """An application (the API's JSON) as the form's values: what a person would have typed."""
    values: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(node, bool):
            if node:
                values[prefix] = "true"
        elif prefix.endswith(("happened_on", "reported_on")):
            d = date.fromisoformat(node)
            values.update({f"{prefix}.day": str(d.day), f"{prefix}.month": str(d.month), f"{prefix}.year": str(d.year)})
        else:
            values[prefix] = str(node)

    walk("", application)
    return values


# ---------------------------------------------------------------- every page, every area


@pytest.mark.parametrize("area", AREAS)
def test_every_page_renders_without_inline_script_or_style_and_with_the_csp(env, area_policies, area):
    policy = area_policies[area]
    assets = ASSETS.format(area=area)
    for name, html in render_all(env, policy).items():
        page = Page(html)
        assert re.search(r'<html lang="en-GB">', html), name
        assert "style=" not in html and "<style" not in html, name
        assert page.scripts == [{"src": f"{assets}/form.js", "defer": ""}], name
        assert f'<link rel="stylesheet" href="{assets}/form.css">' in html, name
        [csp] = [m["content"] for m in page.metas if m.get("http-equiv") == "Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        # A source with a path must end in "/" to match the files under it.
        for kind in ("script-src", "style-src", "img-src"):
            assert directives[kind] == f"{assets}/", (name, kind)
        assert directives["connect-src"] == f"{API}/" and directives["form-action"] == f"{API}/"
        assert directives["base-uri"] == "'none'"
        assert ACTION.startswith(directives["form-action"])
        # The policy comes before the stylesheet and script it governs.
        assert page.head_order.index("Content-Security-Policy") < page.head_order.index("link") < page.head_order.index("script")
        assert 'href="#main-content" class="skip-link"' in html and 'id="main-content"' in html
        assert policy.area.csp_name in page.words()
        assert "Apply for an anti-social behaviour case review" in page.words()
        # Headings in order: after the h1, never more than one level deeper than the last.
        levels = page.headings[page.headings.index(1):]
        assert levels.count(1) == 1, name
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), (name, levels)
        assert len(page.ids) == len(set(page.ids)), name
        assert not set(page.described) - set(page.ids), name
        assert set(page.labels) <= set(page.ids), name


@pytest.mark.parametrize("area", AREAS)
def test_apply_collects_exactly_the_application_fields_with_ids_by_the_rule(env, area_policies, area):
    page = Page(render(env, "apply", apply_ctx(area_policies[area], incident_rows=3)))
    named = [c for c in page.controls if c.get("name")]
    assert {c["name"] for c in named} == all_names(3)
    hidden = {c["name"]: c["value"] for c in named if c.get("type") == "hidden"}
    assert hidden == {"area": area, "idempotency_key": KEY}

    for c in named:
        if c.get("type") == "hidden":
            continue
        expected = element_id(c["name"])
        if c.get("type") == "radio" and page.named(c["name"])[0] is not c:
            expected = f"{expected}-{c['value']}"
        assert c["id"] == expected, c
        assert c["id"] in page.labels, f"no label for {c['id']}"
    assert all(c.get("id") in page.labels for c in page.controls if c.get("type") != "hidden")

    for name, choices in RADIOS.items():
        radios = page.named(name)
        assert tuple(r["value"] for r in radios) == choices, name
        assert all(r["type"] == "radio" for r in radios)
        assert radios[0]["id"] == element_id(name)
    for i in range(3):
        for field, choices in SELECTS.items():
            name = f"incidents[{i}].{field}"
            assert tuple(o.get("value") for o in page.options[name]) == choices
            assert all(o.get("value") == "" or page.options[name] for o in page.options[name])
        box = page.control(f"incidents-{i}-hate_motivated")
        assert box["type"] == "checkbox" and box["value"] == "true"
        for when in ("happened_on", "reported_on"):
            for part in ("day", "month", "year"):
                c = page.control(f"incidents-{i}-{when}-{part}")
                assert c["inputmode"] == "numeric" and c["type"] == "text"
    for name in CHECKBOXES:
        assert page.control(name)["type"] == "checkbox" and page.control(name)["value"] == "true"
    for name in TEXTAREAS:
        assert page.control(name)["tag"] == "textarea"
    assert all(page.control(f"incidents-{i}-description")["tag"] == "textarea" for i in range(3))
    # Radio groups and dates sit in fieldsets with legends; so do the address blocks and incidents.
    assert page.fieldsets == page.legends
    assert page.fieldsets >= len(RADIOS) + 3 * 3 + 2


@pytest.mark.parametrize("area", AREAS)
def test_apply_personal_fields_say_what_they_are_for(env, area_policies, area):
    page = Page(render(env, "apply", apply_ctx(area_policies[area])))
    autocomplete = {c["name"]: c.get("autocomplete", "") for c in page.controls if c.get("name")}
    for who in ("applicant", "victim"):
        assert autocomplete[f"{who}.name"] == f"section-{who} name"
        assert autocomplete[f"{who}.address.line1"] == f"section-{who} address-line1"
        assert autocomplete[f"{who}.address.town"] == f"section-{who} address-level2"
        assert autocomplete[f"{who}.address.postcode"] == f"section-{who} postal-code"
        assert autocomplete[f"{who}.email"] == f"section-{who} email"
        assert autocomplete[f"{who}.daytime_phone"] == f"section-{who} tel"
        assert page.control(f"{who}-email")["type"] == "email"
        assert page.control(f"{who}-mobile_phone")["type"] == "tel"
    assert autocomplete["applicant.organisation"] == "section-applicant organization"


@pytest.mark.parametrize("area", AREAS)
def test_apply_is_what_form_js_and_the_server_expect(env, area_policies, area):
    html = render(env, "apply", apply_ctx(area_policies[area]))
    page = Page(html)
    assert (f'<form method="post" action="{ACTION}" novalidate id="application-form" '
            f'data-api="{API}" data-area="{area}">') in html
    assert ('class="fieldset conditional" id="applicant" data-field="applicant" data-conditional-on="basis" '
            'data-conditional-value="on_behalf"') in html
    assert "Fill in this part only if you are applying on behalf of someone else" in page.words()
    for i in range(3):
        assert f'<fieldset class="fieldset incident" data-incident="{i}"' in html
        assert f"Incident {i + 1}" in page.words()
    # "Add another incident" after the incidents, "Continue" at the end of the form.
    assert [(b["name"], b["value"]) for b in page.buttons] == [("action", "add_incident"), ("action", "check")]
    assert html.index('value="add_incident"') > html.index('data-incident="2"')
    assert html.index('value="check"') > html.index('name="declaration"')
    # The confirmation form.js fills in: text slots only, and the area's own contacts.
    assert {"reference", "acknowledgement_due", "decision_due", "letters"} <= set(page.slots)
    assert "confirmation-template" in html
    # Every question has the wrapper form.js puts inline errors in.
    fields = set(re.findall(r'data-field="([^"]+)"', html))
    for c in page.controls:
        if c.get("name") and c.get("type") != "hidden":
            field = re.sub(r"-(day|month|year)$", "", element_id(c["name"]))
            assert field in fields, c["name"]
    assert {"victim", "applicant", "incidents", "victim-address", "applicant-address", "incidents-0"} <= fields


def test_apply_stops_offering_incidents_at_the_limit(env, area_policies):
    page = Page(render(env, "apply", apply_ctx(area_policies["hart"], incident_rows=50)))
    assert [b["value"] for b in page.buttons] == ["check"]
    assert "incidents[49].description" in page.textareas


def test_apply_fills_in_what_was_typed_and_escapes_it(env, area_policies):
    values = {
        "basis": "on_behalf", "victim_consent": "to_follow", "applicant.relationship": "councillor",
        "applicant.name": "Cllr Alex Morgan", "victim.name": HOSTILE, "victim.tenure": "other",
        "victim.tenure_other": "Narrowboat", "summary": "Loud music\n<b>every night</b>",
        "incidents[1].happened_on.day": "3", "incidents[1].happened_on.month": "11",
        "incidents[1].happened_on.year": "2026", "incidents[1].how_reported": "officer_on_site",
        "incidents[1].officer_type": "pcso", "incidents[1].hate_motivated": "true", "declaration": "true",
        "equalities.age_band": "35 to 44",
    }
    html = render(env, "apply", apply_ctx(area_policies["hart"], values=values, incident_rows=2))
    page = Page(html)
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.control("victim-name")["value"] == HOSTILE
    assert page.control("applicant-name")["value"] == "Cllr Alex Morgan"
    assert page.control("victim-tenure_other")["value"] == "Narrowboat"
    assert page.textareas["summary"] == "Loud music\n<b>every night</b>"
    assert page.control("incidents-1-happened_on-day")["value"] == "3"
    assert page.control("incidents-1-happened_on-year")["value"] == "2026"
    assert page.control("equalities-age_band")["value"] == "35 to 44"
    checked = {c["id"] for c in page.controls if "checked" in c}
    assert checked == {"basis-on_behalf", "victim_consent-to_follow", "applicant-relationship-councillor",
                       "victim-tenure-other", "incidents-1-hate_motivated", "declaration"}
    chosen = {name: [o["value"] for o in opts if "selected" in o] for name, opts in page.options.items()}
    assert chosen["incidents[1].how_reported"] == ["officer_on_site"]
    assert chosen["incidents[1].officer_type"] == ["pcso"]
    assert chosen["incidents[0].how_reported"] == [""]


def test_apply_shows_errors_in_a_summary_and_next_to_each_field(env, area_policies):
    errors = [
        {"field": "victim.name", "message": "We cannot accept anonymous applications: enter a real name"},
        {"field": "victim.address", "message": "Enter the address of the person affected"},
        {"field": "basis", "message": "Say whether you are the person affected or applying on their behalf"},
        {"field": "incidents[1].reported_on", "message": "The date reported must be on or after the date the incident happened"},
        {"field": "incidents[0].how_reported", "message": "Say how the incident was reported"},
        {"field": "declaration", "message": "Confirm that the information is correct to the best of your knowledge"},
        {"field": "summary", "message": f"Describe it {HOSTILE}"},
    ]
    # As the server maps them (chalicelib/form.py): a date's anchor is its day box.
    anchor = {e["field"]: element_id(e["field"]) for e in errors}
    anchor["incidents[1].reported_on"] = "incidents-1-reported_on-day"
    del anchor["summary"]  # not given: worked out from the path
    error_for = {element_id(e["field"]) if e["field"] != "incidents[1].reported_on" else anchor[e["field"]]: e["message"]
                 for e in errors}
    html = render(env, "apply", apply_ctx(area_policies["derbyshire"], errors=errors, error_for=error_for,
                                          error_anchor=anchor, incident_rows=2))
    page = Page(html)
    assert HOSTILE not in html
    assert '<div class="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title">' in html
    assert html.index("error-summary") < html.index("<h1>")
    links = [h for h in page.hrefs if h.startswith("#") and h != "#main-content"]
    assert links == ["#victim-name", "#victim-address", "#basis", "#incidents-1-reported_on-day",
                     "#incidents-0-how_reported", "#declaration", "#summary"]
    assert all(link[1:] in page.ids for link in links)
    for field in ("victim-name", "victim-address", "basis", "incidents-1-reported_on", "incidents-0-how_reported",
                  "declaration", "summary"):
        assert f"{field}-error" in page.ids and f"{field}-error" in page.described, field
        assert f'class="form-group form-group--error" data-field="{field}"' in html, field
    for id_ in ("victim-name", "incidents-0-how_reported", "declaration", "summary",
                "incidents-1-reported_on-day", "incidents-1-reported_on-month", "incidents-1-reported_on-year"):
        assert page.control(id_).get("aria-invalid") == "true", id_
    assert "input--error" in page.control("victim-name")["class"]
    assert "select--error" in page.control("incidents-0-how_reported")["class"]
    assert "textarea--error" in page.control("summary")["class"]
    assert page.control("victim-address-line1").get("aria-invalid") is None
    assert page.words().count("Error: We cannot accept anonymous applications") == 1
    assert Page(render(env, "apply", apply_ctx(area_policies["derbyshire"]))).words().count("There is a problem") == 0
    assert "<title>Error: " in html


def test_a_date_error_keyed_by_the_date_itself_is_shown_too(env, area_policies):
    errors = [{"field": "incidents[0].happened_on", "message": "Enter the date the incident happened"}]
    html = render(env, "apply", apply_ctx(area_policies["hart"], errors=errors, error_anchor={},
                                          error_for={"incidents-0-happened_on": errors[0]["message"]}))
    page = Page(html)
    assert "#incidents-0-happened_on-day" in page.hrefs
    assert "incidents-0-happened_on-error" in page.described


@pytest.mark.parametrize("example", [example_application, example_on_behalf])
def test_a_posted_form_becomes_the_application_the_api_accepts(env, area_policies, example):
    """Type the API's own example into the form; what the browser posts is that application."""
    application = example(TODAY)
    policy = area_policies[application["area"]]
    rows = len(application["incidents"]) + 1  # and one blank incident, dropped
    page = Page(render(env, "apply", apply_ctx(policy, values=flatten(application), incident_rows=rows)))
    checkbox_names = {c["name"] for c in page.controls if c.get("type") == "checkbox"}
    answers = to_application(page.submitted(), checkbox_names)
    assert answers == application
    validate_application(answers, today=TODAY, areas=set(area_policies))


@pytest.mark.parametrize("example", [example_application, example_on_behalf])
def test_the_server_reads_the_posted_form_as_the_application(env, area_policies, example):
    from chalicelib.form import form_to_application

    application = example(TODAY)
    policy = area_policies[application["area"]]
    page = Page(render(env, "apply", apply_ctx(policy, values=flatten(application),
                                               incident_rows=len(application["incidents"]) + 1)))
    answers = form_to_application(dict(page.submitted())).answers
    for incident in answers["incidents"]:
        incident.setdefault("hate_motivated", False)  # an unticked box is not posted; the schema's default
    assert answers == application


# ---------------------------------------------------------------- the start page


@pytest.mark.parametrize("area", AREAS)
def test_start_page_explains_the_review_and_starts_the_form(env, area_policies, area):
    policy = area_policies[area]
    html = render(env, "start", {**base_ctx(policy), "apply_url": "/hart/apply.html?x=1&y=2"})
    page = Page(html)
    words = page.words()
    t = policy.threshold
    assert '<a href="/hart/apply.html?x=1&amp;y=2" class="button button--start"' in html
    assert "Start now" in words
    assert "a business" in words and "a community group" in words and "with the victim’s consent" in words
    assert "We cannot accept anonymous applications" in words
    assert (f"{t.complaints_needed} or more complaints have been made about related anti-social behaviour, "
            f"on separate occasions, in the last {t.lookback_months} months") in words
    assert f"each complaint was reported within {t.qualifying_period.describe()} of the behaviour happening" in words
    assert ("one hate incident or hate crime" in words) == (t.hate_incidents_needed == 1)
    assert ("people or more have each separately reported" in words) == (t.separate_complainants_needed is not None)
    assert ("a senior officer may still accept an application to protect a vulnerable victim" in words) == t.senior_officer_discretion
    assert f"within {policy.timescales.acknowledge.describe()}" in words
    assert f"within {policy.timescales.threshold_decision.describe()} of receiving it" in words
    assert "call 999" in words and policy.contacts.police_non_emergency in words
    assert f"mailto:{policy.contacts.spoc_email}" in page.hrefs
    assert (policy.contacts.spoc_phone or "") in words
    assert (policy.contacts.spoc_address or "") in words
    assert "any reference number they gave you" in words
    assert policy.appeals.body in words


def test_start_page_states_each_areas_own_threshold(env, area_policies):
    def words(area: str) -> str:
        return Page(render(env, "start", {**base_ctx(area_policies[area]), "apply_url": "apply.html"})).words()

    assert "one hate incident or hate crime has been reported in the last 6 months" in words("hart")
    assert "reported within 30 days of the behaviour happening" in words("hart")
    assert "a senior officer may still accept an application to protect a vulnerable victim" in words("hart")
    assert "at least one of the complaints was reported in the last month" in words("gloucestershire")
    assert "one hate incident or hate crime" in words("gloucestershire")
    assert "3 people or more have each separately reported similar anti-social behaviour in the last 6 months" in words("dacorum")
    assert "within 2 working days" in words("dacorum")
    derbyshire = words("derbyshire")
    assert "hate incident" not in derbyshire and "people or more" not in derbyshire and "last month" not in derbyshire
    assert "only if they were a police officer or police community support officer (PCSO) on duty" in derbyshire
    assert "by phone, email instead" not in words("folkestone-hythe")
    assert "by phone or email instead" in words("folkestone-hythe")
    assert "by phone, email or post instead" in words("hart")
    assert "by email instead" in derbyshire
    policy = area_policies["derbyshire"]
    one = policy.threshold.model_copy(update={"complaints_needed": 1, "lookback_months": 1})
    single = Page(render(env, "start", {**base_ctx(policy), "threshold": one, "apply_url": "apply.html"})).words()
    assert "a complaint has been made about the anti-social behaviour in the last month" in single


def test_start_page_links_the_privacy_notice_when_the_area_has_one(env, area_policies):
    policy = area_policies["derbyshire"]
    area = policy.area.model_copy(update={"privacy_notice_url": "https://www.example.gov.uk/privacy"})
    page = Page(render(env, "start", {**base_ctx(policy), "area": area, "apply_url": "apply.html"}))
    assert "https://www.example.gov.uk/privacy" in page.hrefs
    without = Page(render(env, "start", {**base_ctx(policy), "apply_url": "apply.html"}))
    assert "https://www.example.gov.uk/privacy" not in without.hrefs
    assert f"contact the {policy.contacts.spoc_title}" in without.words()


class Rules(HTMLParser):
    """Each element of the start page that states a rule from the policy (data-rule="field ..."),
    with its words."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.rules: list[tuple[set[str], list[str]]] = []
        self._open: list[tuple[str, int]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-rule" in a:
            self.rules.append((set(a["data-rule"].split()), []))
            self._open.append((tag, len(self.rules) - 1))
        elif self._open and tag == self._open[-1][0]:
            self._open.append((tag, -1))

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data):
        for _, i in self._open:
            if i >= 0:
                self.rules[i][1].append(data)

    def words(self, i: int) -> str:
        return " ".join("".join(self.rules[i][1]).split())


STANDARD = "this service’s standard setting"


def shown_rule_fields(policy) -> set[str]:
    """The policy fields whose value the start page states as a rule or timescale."""
    t = policy.threshold
    fields = {"threshold.complaints_needed", "threshold.lookback_months", "threshold.qualifying_period",
              "timescales.acknowledge", "timescales.threshold_decision", "appeals.body", "appeals.window"}
    fields |= {f"threshold.{n}" for n in ("recent_report_months", "separate_complainants_needed") if getattr(t, n) is not None}
    fields |= {"threshold.hate_incidents_needed"} if t.hate_incidents_needed is not None else set()
    fields |= {"threshold.senior_officer_discretion"} if t.senior_officer_discretion else set()
    if t.on_site_reports == "police_only":
        fields.add("threshold.on_site_reports")
    return fields


@pytest.mark.parametrize("area", AREAS)
def test_start_page_labels_every_default_rule_as_the_services_own_setting(env, area_policies, area):
    policy = area_policies[area]
    page = Rules(render(env, "start", {**base_ctx(policy), "apply_url": "apply.html"}))
    tagged = set().union(*(fields for fields, _ in page.rules))
    assert tagged == shown_rule_fields(policy)
    defaults = set(policy.defaults_used)
    for i, (fields, _) in enumerate(page.rules):
        words = page.words(i)
        if fields & defaults:
            assert f"{STANDARD}: {policy.area.name} has not published its own" in words, (fields, words)
        else:
            assert STANDARD not in words, (fields, words)


def test_hart_start_page_does_not_present_derbyshire_defaults_as_harts_rules(env, area_policies):
    policy = area_policies["hart"]
    words = Page(render(env, "start", {**base_ctx(policy), "apply_url": "apply.html"})).words()
    label = f"({STANDARD}: Hart has not published its own)"
    # Derbyshire's on-site rule, its 15-day decision and the 28-day appeal window are not Hart's.
    assert ("counts only if they were a police officer or police community support officer (PCSO) on duty "
            f"{label}") in words
    assert f"within 15 working days of receiving it {label}" in words
    assert f"within 28 days of the decision letter {label}" in words
    # Hart's own rules carry no label.
    assert f"reported within 30 days of the behaviour happening {label}" not in words
    assert "reported within 30 days of the behaviour happening" in words
    assert f"We acknowledge your application within 5 working days {label}" not in words
    assert "one hate incident or hate crime has been reported in the last 6 months (" not in words
    # Said once, before the rules, what the label means.
    assert "Hart’s published procedure does not state it" in words


def test_start_page_labels_an_example_address(env, area_policies):
    derbyshire = Page(render(env, "start", {**base_ctx(area_policies["derbyshire"]), "apply_url": "apply.html"})).words()
    assert f"email: communitytrigger@derbyshire.example ({EXAMPLE_ADDRESS_NOTE})" in derbyshire
    hart = Page(render(env, "start", {**base_ctx(area_policies["hart"]), "apply_url": "apply.html"})).words()
    assert EXAMPLE_ADDRESS_NOTE not in hart


# ---------------------------------------------------------------- check and confirmation


def test_check_page_lists_the_answers_and_carries_them_on(env, area_policies):
    policy = area_policies["hart"]
    answers = [
        {"section": "The person affected", "rows": [{"key": "Name", "value": HOSTILE}, {"key": "Email", "value": "Not given"}]},
        {"section": "Incident 1", "rows": [{"key": "Happened on", "value": "2026-11-03"},
                                           {"key": "What happened", "value": "Music\nand shouting"}]},
    ]
    hidden = [("area", "hart"), ("incidents[0].description", 'Music "loud"'), ("victim.name", HOSTILE),
              ("idempotency_key", KEY)]
    html = render(env, "check", {**apply_ctx(policy), "answers": answers, "hidden": hidden})
    page = Page(html)
    assert HOSTILE not in html
    words = page.words()
    assert "Tuesday 3 November 2026" in words and "2026-11-03" not in words
    assert "The person affected" in words and "Incident 1" in words
    assert html.count('class="summary-list"') == 2
    sent = [(c["name"], c["value"]) for c in page.controls if c.get("type") == "hidden"]
    assert sent == hidden
    assert [(b["name"], b["value"]) for b in page.buttons] == [("action", "submit"), ("action", "edit")]
    assert "Send application" in words and "Change your answers" in words
    assert "By sending this application you confirm" in words
    assert f'action="{ACTION}"' in html


@pytest.mark.parametrize("area", AREAS)
def test_confirmation_gives_the_reference_and_the_dates(env, area_policies, area):
    policy = area_policies[area]
    page = Page(render(env, "confirmation", {**base_ctx(policy), "receipt": RECEIPT}))
    words = page.words()
    assert "Application sent" in words and "CT-7K3M-9QXR" in words
    assert "We will acknowledge your application by Friday 27 November 2026" in words
    assert "meets the threshold for a case review by Friday 11 December 2026" in words
    assert "We received your application on Friday 20 November 2026" in words
    assert "We are emailing a letter to you" in words
    assert policy.contacts.police_non_emergency in words and "call 999" in words
    assert f"mailto:{policy.contacts.spoc_email}" in page.hrefs
    assert "consent" not in words


def test_confirmation_while_consent_is_awaited(env, area_policies):
    receipt = {**RECEIPT, "status": "awaiting_consent", "decision_due": None,
               "letters": [{"to": "applicant", "channel": "post", "status": "print_queued"}]}
    words = Page(render(env, "confirmation", {**base_ctx(area_policies["hart"]), "receipt": receipt})).words()
    assert "We cannot start the review until the person affected agrees to it" in words
    assert "We will post a letter to you" in words
    assert "meets the threshold for a case review by" not in words


# ---------------------------------------------------------------- the script and the stylesheet


def test_script_is_strict_dependency_free_and_never_writes_html():
    js = (FORM / "form.js").read_text(encoding="utf-8")
    assert '"use strict";' in js
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   ".style.", "setAttribute(\"style\"", "require(", "import "):
        assert banned not in js, banned
    for needed in ('classList.add("js-enabled")', "data-conditional-on", "aria-controls",
                   '"Idempotency-Key"', '"Content-Type": "application/json"', "/applications", "textContent",
                   'button.type = "button"', 'role", "alert"'):
        assert needed in js, needed


def test_stylesheet_has_focus_styles_and_large_enough_targets(tmp_path):
    from form.build import build

    build(tmp_path, api_url="https://api.example.test/api", site_url="https://forms.example.test")
    css = (tmp_path / "hart" / "assets" / "form.css").read_text(encoding="utf-8")  # what the site serves
    for rule in (".input:focus", ".radios__input:focus", ".button:focus", "a:focus", ".skip-link:focus",
                 ".date-input", ".summary-list", ".panel--confirmation", ".conditional[hidden]", ".js-enabled",
                 ".error-summary", ".form-group--error"):
        assert rule in css, rule
    assert "width: 28px;" in css and "height: 28px;" in css  # radios and checkboxes over 24px
    assert "min-height: 40px;" in css
    assert "@import" not in css and "url(" not in css

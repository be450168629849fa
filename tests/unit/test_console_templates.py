"""The console's layout and component macros: the official GOV.UK Frontend / MOJ Frontend markup
(class names and structure the published CSS and JavaScript expect), hostile text escaped, the
council's own name (no crown, no GOV.UK brand), and nothing the CSP would block (no inline script
bodies, no style attributes)."""
from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from chalicelib.auth import Principal
from chalicelib.letters import LetterRenderer
from infra import build_console_assets

HOSTILE = '<script>alert("x")</script>"\'&'


@pytest.fixture(autouse=True)
def at_the_root(monkeypatch):
    """The API served from the root (as `make run` does); one test puts it behind a stage."""
    monkeypatch.setenv("PUBLIC_API_URL", "https://ct.example.test")


@pytest.fixture(scope="module")
def env():
    build_console_assets.ensure()  # asset_url reads the build's manifest (a no-op when up to date)
    return LetterRenderer()._env


def macro(env, call: str, **context) -> str:
    names = sorted(set(re.findall(r"\b(\w+)\(", call)) & MACROS)
    source = '{% from "console/_components.html.j2" import ' + ", ".join(names) + " %}" + call
    return env.from_string(source).render(context)


MACROS = {"button", "button_group", "text_input", "textarea", "character_count", "select", "radios", "checkboxes",
          "date_input", "error_summary", "error_message", "summary_list", "table", "tag", "badge", "timeline",
          "notification_banner", "inset_text", "details", "warning_text", "back_link", "pagination", "csrf_field",
          "wide_table"}


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data

    def with_class(self, name: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.tags if name in (a.get("class") or "").split()]


def assert_csp_safe(html: str) -> None:
    tags = Tags(html)
    assert all(not body.strip() for body in tags.scripts), "inline script body"
    assert not any("style" in attrs for _, attrs in tags.tags), "style attribute"
    assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs), "inline event handler"
    assert "<style" not in html


# ---------------------------------------------------------------- the layout


def page(env, **context) -> str:
    template = env.from_string('{% extends "console/_layout.html.j2" %}{% block title %}Cases{% endblock %}'
                               '{% block before_content %}<a class="govuk-back-link" href="/console">Back</a>{% endblock %}'
                               '{% block content %}<h1 class="govuk-heading-l">Cases</h1>{% endblock %}')
    return template.render(context)


SPOC = Principal(subject="u-1", name="Pat Lee", roles=frozenset({"spoc"}), areas=frozenset({"hart", "derbyshire"}))


def test_signed_in_layout_has_the_template_header_navigation_identity_bar_and_sign_out(env):
    html = page(env, principal=SPOC, csrf_token="tok-123", nav="cases", service_name="ASB case review",
                council_name="Hart District Council", area_names={"hart": "Hart", "derbyshire": "Derbyshire"})
    tags = Tags(html)
    assert tags.with_class("govuk-template") and tags.tags[0][0] == "html"
    assert tags.with_class("govuk-template__body")
    skip = tags.with_class("govuk-skip-link")[0]
    assert skip["href"] == "#main-content" and tags.with_class("govuk-main-wrapper")[0]["id"] == "main-content"
    assert "Hart District Council" in html and "<title>Cases – ASB case review – Hart District Council</title>" in html
    assert tags.with_class("govuk-service-navigation__service-name")
    links = [a for a in tags.with_class("govuk-service-navigation__link") if a["href"] != "/console"]
    assert [a["href"] for a in links] == ["/console/cases", "/console/print-queue", "/console/reports"]
    assert links[0].get("aria-current") == "true" and "aria-current" not in links[1]
    assert tags.with_class("moj-identity-bar") and "Pat Lee" in html and "SPOC" in html and "Derbyshire, Hart" in html
    form = next(a for t, a in tags.tags if t == "form")
    assert form["method"] == "post" and form["action"] == "/console/sign-out"
    assert {"type": "hidden", "name": "csrf_token", "value": "tok-123"} in [a for t, a in tags.tags if t == "input"]
    assert tags.with_class("govuk-phase-banner") and "Beta" in html
    assert html.index("govuk-back-link") < html.index('id="main-content"')
    assert_csp_safe(html)


def test_appeals_officer_sees_appeals_and_reports_only(env):
    appeals = Principal(subject="u-2", name="Opcc Officer", roles=frozenset({"appeals"}), areas=frozenset({"*"}))
    tags = Tags(page(env, principal=appeals, csrf_token="t", nav="appeals", service_name="ASB case review"))
    hrefs = [a["href"] for a in tags.with_class("govuk-service-navigation__link") if a["href"] != "/console"]
    assert hrefs == ["/console/appeals", "/console/reports"]
    assert "All areas" in page(env, principal=appeals, csrf_token="t", nav="appeals", service_name="S")


def test_signed_out_layout_has_no_identity_bar_navigation_or_sign_out(env):
    html = page(env, principal=None, csrf_token="", nav=None, service_name="ASB case review")
    tags = Tags(html)
    assert not tags.with_class("moj-identity-bar") and not tags.with_class("govuk-service-navigation__list")
    assert "sign-out" not in html and tags.with_class("govuk-service-navigation__service-name")
    assert_csp_safe(html)


def test_layout_links_the_fingerprinted_css_and_module_scripts_only(env):
    tags = Tags(page(env, principal=SPOC, csrf_token="t", nav="cases", service_name="S"))
    css = [a["href"] for t, a in tags.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert len(css) == 1 and re.fullmatch(r"/console/assets/css/console-[0-9a-f]{12}\.css", css[0])
    scripts = [a for t, a in tags.tags if t == "script"]
    assert all(a.get("src", "").startswith("/console/assets/js/") for a in scripts)
    assert any(a.get("type") == "module" and "/js/console-" in a["src"] for a in scripts)
    # the body class script runs first thing in <body>, before any component markup
    body = [t for t, _ in tags.tags]
    assert body[body.index("body") + 1] == "script"


def test_asset_urls_follow_the_api_stage(env, monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", "https://abc.execute-api.eu-west-2.amazonaws.com/api")
    html = page(env, principal=SPOC, csrf_token="t", nav="cases", service_name="S")
    assert 'href="/api/console/assets/css/console-' in html and 'action="/api/console/sign-out"' in html


def test_layout_escapes_hostile_names_and_shows_no_crown_or_gov_uk_brand(env):
    hostile = Principal(subject="u-3", name=HOSTILE, roles=frozenset({"spoc"}), areas=frozenset({HOSTILE}))
    html = page(env, principal=hostile, csrf_token=HOSTILE, nav="cases", service_name=HOSTILE, council_name=HOSTILE)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)" in html
    assert "GOV.UK" not in html and "govuk-logo" not in html and "crown" not in html.lower()
    assert "govuk-crest" not in html and "Open Government Licence" not in html
    assert_csp_safe(html)


def test_render_console_renders_a_page_by_name_and_refuses_paths(tmp_path):
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "hello.html.j2").write_text("{{ asset_url('console.css') }} {{ console_url('/console/x') }}")
    out = LetterRenderer(tmp_path).render_console("hello", {})
    assert re.fullmatch(r"/console/assets/css/console-[0-9a-f]{12}\.css /console/x", out)
    with pytest.raises(ValueError):
        LetterRenderer(tmp_path).render_console("../letters/x", {})


# ---------------------------------------------------------------- the components


def test_button_is_the_published_button_and_escapes(env):
    tags = Tags(macro(env, '{{ button(t, name="action", value="save") }}', t=HOSTILE))
    b = tags.with_class("govuk-button")[0]
    assert b["type"] == "submit" and b["data-module"] == "govuk-button" and b["name"] == "action"
    assert b["data-prevent-double-click"] == "true"
    link = Tags(macro(env, '{{ button("Start", href="/console/cases", classes="govuk-button--secondary") }}')).tags[0]
    assert link[0] == "a" and link[1]["role"] == "button" and "govuk-button--secondary" in link[1]["class"]
    assert "<script>" not in macro(env, "{{ button(t) }}", t=HOSTILE)


def test_text_input_with_hint_and_error_is_described_by_both(env):
    html = macro(env, '{{ text_input("reasons", "Reasons", value=v, hint="Say why", error="Enter the reasons") }}', v=HOSTILE)
    tags = Tags(html)
    assert tags.with_class("govuk-form-group--error")
    field = tags.with_class("govuk-input")[0]
    assert field["id"] == "reasons" and "govuk-input--error" in field["class"]
    assert field["aria-describedby"] == "reasons-hint reasons-error"
    assert field["value"] == HOSTILE  # parsed back: escaped in the HTML, intact as a value
    assert tags.with_class("govuk-label")[0]["for"] == "reasons"
    assert 'class="govuk-visually-hidden">Error:</span> Enter the reasons' in html
    assert "<script>" not in html
    plain = Tags(macro(env, '{{ text_input("name", "Name") }}')).with_class("govuk-input")[0]
    assert "aria-describedby" not in plain and "value" not in plain


def test_textarea_and_character_count(env):
    html = macro(env, '{{ textarea("notes", "Notes", value=v, rows=8) }}', v=HOSTILE)
    area = Tags(html).with_class("govuk-textarea")[0]
    assert area["rows"] == "8" and "&lt;script&gt;" in html
    html = macro(env, '{{ character_count("findings", "Findings", 2000, error="Too long") }}')
    tags = Tags(html)
    group = tags.with_class("govuk-character-count")[0]
    assert group["data-module"] == "govuk-character-count" and group["data-maxlength"] == "2000"
    assert "govuk-js-character-count" in tags.with_class("govuk-textarea")[0]["class"]
    assert tags.with_class("govuk-character-count__message")[0]["id"] == "findings-info"
    assert tags.with_class("govuk-textarea")[0]["aria-describedby"] == "findings-error findings-info"


def test_select_marks_the_chosen_option(env):
    tags = Tags(macro(env, '{{ select("area", "Area", [("hart", "Hart"), ("derbyshire", t)], value="derbyshire") }}', t=HOSTILE))
    options = [a for t, a in tags.tags if t == "option"]
    assert [o["value"] for o in options] == ["hart", "derbyshire"]
    assert "selected" in options[1] and "selected" not in options[0]
    assert tags.with_class("govuk-select")[0]["id"] == "area"


def test_radios_first_id_is_the_name_and_conditional_reveals(env):
    items = [{"value": "met", "text": "Met", "hint": "Three complaints"}, {"value": "not_met", "text": "Not met",
             "conditional": Markup('<p class="govuk-body">Say why</p>')}, {"divider": "or"}, ("other", HOSTILE)]
    html = macro(env, '{{ radios("decision", "Decision", items, value="not_met", error="Choose one") }}', items=items)
    tags = Tags(html)
    inputs = tags.with_class("govuk-radios__input")
    assert [i["id"] for i in inputs] == ["decision", "decision-2", "decision-4"]
    assert "checked" in inputs[1] and "checked" not in inputs[0]
    assert inputs[0]["aria-describedby"] == "decision-item-hint"
    assert inputs[1]["data-aria-controls"] == "conditional-decision-2"
    assert tags.with_class("govuk-radios")[0]["data-module"] == "govuk-radios"
    assert tags.with_class("govuk-radios__conditional")[0]["id"] == "conditional-decision-2"
    assert "govuk-radios__conditional--hidden" not in tags.with_class("govuk-radios__conditional")[0]["class"]
    assert tags.with_class("govuk-radios__divider") and tags.with_class("govuk-fieldset")[0]["aria-describedby"] == "decision-error"
    assert "<script>" not in html


def test_checkboxes_check_each_given_value(env):
    tags = Tags(macro(env, '{{ checkboxes("agencies", "Agencies", [("police", "Police"), ("housing", "Housing"), '
                          '{"value": "none", "text": "None", "exclusive": true}], values=["police", "none"]) }}'))
    inputs = tags.with_class("govuk-checkboxes__input")
    assert [("checked" in i) for i in inputs] == [True, False, True] and inputs[0]["type"] == "checkbox"
    assert inputs[2]["data-behaviour"] == "exclusive"


def test_date_input_names_the_three_parts_and_marks_errors(env):
    html = macro(env, '{{ date_input("held_on", "Date held", value=d, error="Enter a real date", error_parts=["year"]) }}',
                 d=date(2027, 3, 29))
    tags = Tags(html)
    boxes = tags.with_class("govuk-date-input__input")
    assert [(b["name"], b["id"], b.get("value")) for b in boxes] == [
        ("held_on.day", "held_on-day", "29"), ("held_on.month", "held_on-month", "3"), ("held_on.year", "held_on-year", "2027")]
    assert ["govuk-input--error" in b["class"] for b in boxes] == [False, False, True]
    assert tags.with_class("govuk-fieldset")[0]["role"] == "group"
    typed = Tags(macro(env, '{{ date_input("d", "D", value={"day": "31", "month": "2", "year": t}) }}', t=HOSTILE))
    assert typed.with_class("govuk-date-input__input")[2]["value"] == HOSTILE


def test_error_summary_links_each_error_to_its_field_in_page_order(env):
    errors = [{"field": "reasons", "message": "Enter the reasons"}, {"field": "held_on", "message": HOSTILE},
              {"field": "decision", "message": "Choose a decision"}]
    html = macro(env, '{{ error_summary(errors | in_page_order(["decision", "held_on", "reasons"]), date_fields=["held_on"]) }}',
                 errors=errors)
    tags = Tags(html)
    assert tags.with_class("govuk-error-summary")[0]["data-module"] == "govuk-error-summary"
    assert [a["href"] for t, a in tags.tags if t == "a"] == ["#decision", "#held_on-day", "#reasons"]
    assert '<div role="alert">' in html and "There is a problem" in html and "<script>" not in html
    assert macro(env, "{{ error_summary([]) }}").strip() == ""


def test_error_message_on_its_own(env):
    html = macro(env, '{{ error_message(t, id="x-error") }}', t=HOSTILE)
    assert Tags(html).with_class("govuk-error-message")[0]["id"] == "x-error" and "<script>" not in html


def test_summary_list_with_change_links(env):
    rows = [{"key": "Reference", "value": "CT-7K3M-9QXR"},
            {"key": "Reasons", "value": HOSTILE, "actions": [{"href": "/console/cases/CT-7K3M-9QXR/decision",
                                                               "visually_hidden": "the reasons"}]}]
    html = macro(env, "{{ summary_list(rows) }}", rows=rows)
    tags = Tags(html)
    assert len(tags.with_class("govuk-summary-list__row")) == 2
    assert "govuk-summary-list__row--no-actions" in tags.with_class("govuk-summary-list__row")[0]["class"]
    assert 'Change<span class="govuk-visually-hidden"> the reasons</span></a>' in html
    assert tags.with_class("govuk-summary-list__key") and "<script>" not in html


def test_table_and_moj_sortable_table(env):
    head = ["Reference", {"text": "Due", "sort": "ascending"}, {"text": "Days", "format": "numeric", "sort": "none"}]
    rows = [[Markup('<a class="govuk-link" href="/console/cases/CT-1">CT-1</a>'), HOSTILE,
             {"text": "3", "format": "numeric", "sort_value": 3}]]
    html = macro(env, '{{ table(head, rows, caption="Cases", sortable=true) }}', head=head, rows=rows)
    tags = Tags(html)
    table = tags.with_class("govuk-table")[0]
    assert table["data-module"] == "moj-sortable-table"
    headers = tags.with_class("govuk-table__header")
    assert [h.get("aria-sort") for h in headers] == [None, "ascending", "none"]
    assert "govuk-table__header--numeric" in headers[2]["class"]
    assert tags.with_class("govuk-table__cell--numeric")[0]["data-sort-value"] == "3"
    assert 'href="/console/cases/CT-1"' in html and "<script>" not in html
    plain = Tags(macro(env, '{{ table(["A"], [["1"]], first_cell_is_header=true) }}'))
    assert "data-module" not in plain.with_class("govuk-table")[0]
    assert plain.with_class("govuk-table__header")[1]["scope"] == "row"


def test_tag_badge_and_timeline(env):
    assert Tags(macro(env, '{{ tag("Overdue", "red") }}')).with_class("govuk-tag--red")
    assert Tags(macro(env, '{{ badge("3", "red", label="3 overdue") }}')).with_class("moj-badge--red")[0]["aria-label"] == "3 overdue"
    items = [{"label": "Threshold decision", "text": HOSTILE, "datetime": "2026-12-24T14:05:00.000Z", "byline": "Pat Lee"},
             {"label": "Received", "datetime": "2026-12-21"}]
    html = macro(env, "{{ timeline(items) }}", items=items)
    tags = Tags(html)
    assert len(tags.with_class("moj-timeline__item")) == 2 and tags.with_class("moj-timeline__title")
    assert "Thursday 24 December 2026 at 2:05pm" in html and "Monday 21 December 2026" in html
    assert "by Pat Lee" in html and "<script>" not in html
    assert [a["datetime"] for t, a in tags.tags if t == "time"] == ["2026-12-24T14:05:00.000Z", "2026-12-21"]


def test_notification_banner_inset_details_warning_back_link(env):
    success = Tags(macro(env, '{{ notification_banner(t, type="success") }}', t=HOSTILE))
    banner = success.with_class("govuk-notification-banner")[0]
    assert banner["role"] == "alert" and "govuk-notification-banner--success" in banner["class"]
    assert banner["data-module"] == "govuk-notification-banner"
    html = macro(env, '{% call notification_banner() %}<p class="govuk-body">Read this</p>{% endcall %}')
    assert 'role="region"' in html and "Important" in html and "<p class=\"govuk-body\">Read this</p>" in html
    assert "&lt;script&gt;" in macro(env, "{{ inset_text(t) }}", t=HOSTILE)
    details = macro(env, '{{ details("Help", t) }}', t=HOSTILE)
    assert Tags(details).with_class("govuk-details__summary-text") and "<script>" not in details
    warning = macro(env, "{{ warning_text(t) }}", t=HOSTILE)
    assert 'class="govuk-warning-text__icon" aria-hidden="true">!</span>' in warning and "<script>" not in warning
    assert Tags(macro(env, '{{ back_link("/console/cases") }}')).with_class("govuk-back-link")[0]["href"] == "/console/cases"


def test_pagination_by_cursor_and_by_page_number(env):
    block = Tags(macro(env, '{{ pagination(previous="/console/cases?before=a", next="/console/cases?after=b") }}'))
    nav = block.with_class("govuk-pagination")[0]
    assert "govuk-pagination--block" in nav["class"] and nav["aria-label"] == "Pagination"
    assert [(a["rel"], a["href"]) for a in block.with_class("govuk-pagination__link")] == [
        ("prev", "/console/cases?before=a"), ("next", "/console/cases?after=b")]
    numbered = Tags(macro(env, '{{ pagination(next="/p/3", items=[{"number": 1, "href": "/p/1"}, {"ellipsis": true}, '
                               '{"number": 2, "href": "/p/2", "current": true}]) }}'))
    assert "govuk-pagination--block" not in numbered.with_class("govuk-pagination")[0]["class"]
    current = numbered.with_class("govuk-pagination__item--current")
    assert len(current) == 1 and numbered.with_class("govuk-pagination__item--ellipsis")
    assert [a.get("aria-current") for a in numbered.with_class("govuk-pagination__link")] == [None, "page", None]


def test_csrf_field_and_every_macro_is_csp_safe(env):
    assert Tags(macro(env, "{{ csrf_field(t) }}", t=HOSTILE)).tags[0][1] == {"type": "hidden", "name": "csrf_token", "value": HOSTILE}
    source = (LetterRenderer().root / "console" / "_components.html.j2").read_text()
    defined = set(re.findall(r"{%-? macro ([a-z]\w*)\(", source))
    assert defined == MACROS, "tests cover every public macro"
    assert "style=" not in source and "<script" not in source and "| safe" not in source


def test_a_wide_table_scrolls_in_a_named_region_the_keyboard_can_reach(env):
    html = macro(env, '{% call wide_table(label) %}<table class="govuk-table"></table>{% endcall %}', label=HOSTILE)
    [(tag, attrs), (inner, _)] = Tags(html).tags
    assert tag == "div" and inner == "table"
    assert attrs == {"class": "ct-table-scroll", "role": "region", "aria-label": HOSTILE, "tabindex": "0"}

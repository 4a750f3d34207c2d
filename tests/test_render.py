"""The renderer's Jinja environment writes exactly what Jinja's own would, in every construct."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment
from markupsafe import Markup

from editorial.render import _Environment, _escape_output, iso_moment

TEMPLATES = {
    "base.html": (
        "<title>{% block title %}{{ title }}{% endblock %}</title>"
        '<meta content="{{ self.title() }}">{% block main %}{% endblock %}'
    ),
    "_part.html": "<i>{{ text }}</i>{{ number }}{{ nothing }}{{ greeting }}",
    "page.html": """{% extends "base.html" %}
{% macro box(value) %}<b title="{{ value }}">{{ caller() if caller else value }}</b>{% endmacro %}
{% block title %}{{ text }} · {{ super() }}{% endblock %}
{% block main %}
{% set captured %}<s>{{ text }}</s>{% endset %}{{ captured }}{{ captured | length }}
{{ box(text) }}{% call box(safe) %}{{ text }}{{ safe }}{% endcall %}
{{ text ~ safe }}{{ safe ~ text }}{{ text | e }}{{ text | safe }}{{ [text, safe] | join(text) }}
{% filter upper %}{{ text }}{% endfilter %}{{ text | upper }}{{ text | replace("a", safe) }}
{% for item in items %}{{ loop.index }}{{ item }}{{ loop.cycle(text, safe) }}{% endfor %}
{% include "_part.html" %}{% import "_part.html" as part %}{{ part }}{{ greeting }}{{ items }}{{ {"k": text} | tojson }}
{% endblock %}""",
}
TEXT = st.text(alphabet=st.sampled_from("a<>&\"' \u00e9\U0001f600\\"), max_size=12)


def _environment(kind: type[Environment] = Environment) -> Environment:
    env = kind(loader=DictLoader(TEMPLATES), autoescape=True)
    env.globals["greeting"] = "<hello & welcome>"
    return env


@given(text=TEXT, safe=TEXT, items=st.lists(TEXT, max_size=3))
def test_output_is_what_jinja_writes(text: str, safe: str, items: list[str]) -> None:
    context = {
        "text": text,
        "safe": Markup(safe),
        "items": items,
        "title": text,
        "number": len(text),
        "nothing": None,
    }
    expected = _environment().get_template("page.html").render(context)
    assert _environment(_Environment).get_template("page.html").render(context) == expected


def test_every_template_function_uses_it() -> None:
    env = _environment(_Environment)
    for name in TEMPLATES:
        template = env.get_template(name)
        assert template.root_render_func.__globals__["escape"] is _escape_output
        for block in template.blocks.values():
            assert block.__globals__["escape"] is _escape_output
    assert _escape_output("<a href='x'>&") == "&lt;a href=&#39;x&#39;&gt;&amp;"
    assert type(_escape_output("plain")) is str
    assert _escape_output(Markup("<b>")) == "<b>"


def test_moments_are_written_as_rfc_3339_in_utc_to_the_second() -> None:
    """Feeds, sitemaps and JSON-LD want `YYYY-MM-DDTHH:MM:SSZ`: no fraction, no offset."""
    assert iso_moment(datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)) == "2026-03-04T05:06:07Z"
    assert iso_moment(datetime(2026, 12, 31, 23, 59, 59)) == "2026-12-31T23:59:59Z"
    assert iso_moment(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00Z"
    assert iso_moment(None) == ""

"""Note templates: defaults render, hostile templates are refused, hostile Jira values stay escaped."""

import pytest
from markupsafe import Markup

from connector.jira_markup import wiki_to_html
from notifications.placeholders import DEFAULT_TEMPLATES, PLACEHOLDERS, sample_context
from notifications.rendering import (
    MAX_OUTPUT_CHARS,
    TemplateRenderError,
    render_note,
    validate_template,
)
from tests.connector.test_jira_markup import XSS_TEXT, assert_inert


@pytest.mark.parametrize("kind", sorted(DEFAULT_TEMPLATES))
def test_default_templates_are_valid_and_render_against_the_sample(kind):
    template = DEFAULT_TEMPLATES[kind]
    assert validate_template(template) == []
    out = render_note(template, sample_context())
    assert "<b>ABC-1</b>" in out
    assert_inert(out)


def test_the_transition_note_says_where_the_issue_moved():
    out = render_note(DEFAULT_TEMPLATES["issue_transitioned"], sample_context())
    assert out.startswith("<p><b>ABC-1</b> moved from <i>To Do</i> to <i>In Progress</i>: <a href=")
    assert "Checkout page shows a blank screen" in out


def test_the_comment_note_embeds_the_converted_comment_unescaped():
    context = sample_context()
    context["comment"]["body_html"] = Markup(wiki_to_html("Fixed in *2.4.1*"))  # noqa: S704 - sanitised
    out = render_note(DEFAULT_TEMPLATES["comment_created"], context)
    assert "<p>Fixed in <b>2.4.1</b></p>" in out


def test_the_fields_note_lists_every_change():
    out = render_note(DEFAULT_TEMPLATES["fields_changed"], sample_context())
    assert "<li>status: To Do → In Progress</li><li>priority: Medium → High</li>" in out


def test_sample_context_covers_every_placeholder():
    context = sample_context()
    for path in PLACEHOLDERS:
        node = context
        for part in path.split("."):
            node = node[part]
        assert node == PLACEHOLDERS[path].sample


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self }}",
        "{{ self._TemplateReference__context }}",
        "{{ range(10**9) }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{{ lipsum() }}",
        "{{ issue.items() }}",
        "{{ issue['__class__'] }}",
        "{{ issue.key|attr('__class__') }}",
        "{{ issue.key|safe }}",
        "{{ issue.key|format('%s') }}",
        "{% set x = 'a' %}{{ x }}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        "{% include 'settings.py' %}",
        "{% extends 'base.html' %}",
        "{% import 'x' as y %}",
        "{% for x in issue.labels recursive %}{{ loop(x) }}{% endfor %}",
        "{{ 'a' * 1000000000 }}",
        "{{ '%999999999s' % 1 }}",
        "{{ ((2**64)**64)**64 }}",
        "{{ issue.labels|sort(attribute='__class__') }}",
        "{% for a in event.changes %}{{ loop.cycle(1, 2) }}{% endfor %}",
        "{{ unclosed",
        "{% if %}",
    ],
)
def test_hostile_or_broken_templates_are_refused_with_a_clear_message(template):
    problems = [p for p in validate_template(template) if p.blocking]
    assert problems, template
    with pytest.raises(TemplateRenderError) as raised:
        render_note(template, sample_context())
    message = str(raised.value)
    assert message and "Traceback" not in message
    assert "<" not in message.replace("<=", "")  # plain words, no object reprs


def test_nested_loops_are_stopped_by_the_iteration_budget():
    context = sample_context()
    context["issue"]["labels"] = [str(i) for i in range(500)]
    template = "{% for a in issue.labels %}{% for b in issue.labels %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateRenderError, match="loops ran more than"):
        render_note(template, context)


def test_output_longer_than_the_cap_is_refused():
    context = sample_context()
    context["issue"]["labels"] = ["x" * 1000] * (MAX_OUTPUT_CHARS // 1000 + 2)
    with pytest.raises(TemplateRenderError, match="longer than"):
        render_note("{% for l in issue.labels %}{{ l }}{% endfor %}", context)


def test_syntax_errors_carry_their_line_number():
    problems = validate_template("<p>one</p>\n<p>two</p>\n<p>{{ issue.key }</p>\n<p>four</p>")
    assert [(p.line, p.kind) for p in problems] == [(3, "syntax")]
    assert str(problems[0]).startswith("Line 3: Syntax error")


def test_unknown_placeholders_are_reported_with_a_suggestion_but_render_empty():
    problems = validate_template("{{ issue.summry }} on line one\n{{ nothing }}")
    assert [(p.line, p.kind) for p in problems] == [(1, "unknown_placeholder"), (2, "unknown_placeholder")]
    assert "issue.summary" in problems[0].message
    assert render_note("<p>[{{ issue.summry }}]</p>", sample_context()) == "<p>[]</p>"


def test_loop_item_fields_are_checked_against_the_catalogue():
    problems = validate_template("{% for c in event.changes %}{{ c.field }}{{ c.before }}{% endfor %}")
    assert len(problems) == 1
    assert "c.before" in problems[0].message


@pytest.mark.parametrize("payload", XSS_TEXT)
def test_hostile_jira_values_stay_escaped_inside_a_benign_template(payload):
    context = sample_context()
    context["issue"]["summary"] = payload
    context["issue"]["assignee"] = payload
    context["comment"]["author"] = payload
    context["comment"]["body_html"] = payload  # a plain string, not Markup: must be escaped too
    context["issue"]["labels"] = [payload]
    template = (
        DEFAULT_TEMPLATES["comment_created"]
        + "<p>{{ issue.assignee }} {{ issue.labels|join(', ') }} {{ issue.summary|upper }}</p>"
    )
    out = render_note(template, context)
    assert_inert(out)
    assert "<script" not in out.lower()


@pytest.mark.parametrize("url", ["javascript:alert(1)", 'https://e.com/" onmouseover="alert(1)'])
def test_a_hostile_issue_url_cannot_break_out_of_the_href(url):
    context = sample_context()
    context["issue"]["url"] = url
    out = render_note(DEFAULT_TEMPLATES["issue_created"], context)
    assert_inert(out)  # only href and rel survive on <a>, and only with http(s)/mailto targets


def test_objects_in_the_context_are_reduced_to_plain_text():
    class Sneaky:
        secret = "hidden"

        def __str__(self):
            return "shown"

    out = render_note("{{ issue.key }} {{ issue.key.secret }}", {"issue": {"key": Sneaky()}})
    assert out == "shown "


"""Render note templates written by admins in the rule editor, safely.

Templates are Jinja2, but a deliberately small Jinja: `{{ placeholders }}`, filters from an allowlist,
`{% if %}` and `{% for %}`. What is refused, and why:

- No Python attributes or methods at all: `a.b` looks up the key "b" in the dict `a` and nothing else, so
  `''.__class__`, `cycler.__init__.__globals__` and `dict.items` reach nothing. No globals (`range`,
  `cycler`, `lipsum`, `namespace`) and no calls, so there is nothing to call.
- No `set`, `macro`, `call`, `include`, `import`, `extends`, `block`, `with`, `self`: without assignment a
  value cannot be doubled over and over, and without a loader nothing outside the text is reached.
- Work is bounded: every loop iteration and lookup counts against a per-render budget (iterations and a
  wall-clock deadline), string repetition and `%`-formatting are refused, `replace` checks the size of its
  result before building it, and output is streamed and cut off at a maximum length.
- HTML: autoescape is on, so every value from Jira is escaped; the only HTML passed through is what the
  service made and sanitised itself (`markupsafe.Markup`, e.g. `comment.body_html`). The final output goes
  through `sanitize_note_html` as a second line of defence.

The jinja2 sandbox (`ImmutableSandboxedEnvironment`) is still the base class, so anything this module
forgets to narrow falls back to the sandbox's own refusals rather than to plain Jinja.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import difflib
import functools
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2 import filters as jinja_filters
from jinja2 import tests as jinja_tests
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from connector.jira_markup import sanitize_note_html
from notifications.placeholders import GROUPS, PLACEHOLDERS, sample_context

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_TEMPLATE_CHARS",
    "TemplateProblem",
    "TemplateRenderError",
    "render_note",
    "validate_template",
]

MAX_TEMPLATE_CHARS = 10_000
MAX_OUTPUT_CHARS = 30_000
MAX_VALUE_CHARS = 50_000  # longest string a context value or a filter result may be
MAX_LIST_ITEMS = 1_000  # longest list taken from the context
MAX_CONTEXT_DEPTH = 8
MAX_ITERATIONS = 10_000  # loop iterations per render, all loops together
MAX_RENDER_SECONDS = 1.0


class TemplateRenderError(Exception):
    """A template could not be rendered; the message is written for the admin who wrote the template."""


@dataclass(frozen=True)
class TemplateProblem:
    line: int | None
    message: str
    kind: str  # "syntax", "forbidden", "render" or "unknown_placeholder"

    @property
    def blocking(self) -> bool:
        """Unknown placeholders render empty; everything else stops the template from rendering."""
        return self.kind != "unknown_placeholder"

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


# --------------------------------------------------------------------------------------------------------
# Per-render budget
# --------------------------------------------------------------------------------------------------------


class _Budget:
    __slots__ = ("deadline", "iterations")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS
        self.iterations = 0


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("note_render_budget", default=None)


def _tick(iteration: bool = False) -> None:
    budget = _budget.get()
    if budget is None:
        return
    if iteration:
        budget.iterations += 1
        if budget.iterations > MAX_ITERATIONS:
            raise TemplateRenderError(f"The template's loops ran more than {MAX_ITERATIONS} times.")
    if time.monotonic() > budget.deadline:
        raise TemplateRenderError(f"The template took longer than {MAX_RENDER_SECONDS:g} s to render.")


def _bounded(value: Any) -> Iterator[Any]:
    """Wrapped around every `{% for %}` iterable (see `_bound_loops`)."""
    if isinstance(value, Undefined) or value is None:
        return
    if isinstance(value, Mapping):
        value = list(value)
    if not isinstance(value, (list, tuple, str)):
        raise TemplateRenderError("A template loop can only go over a list.")
    for item in value:
        _tick(iteration=True)
        yield item


# --------------------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------------------

_LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
     "previtem", "nextitem"}
)


def _checked_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_VALUE_CHARS:
        raise TemplateRenderError(f"A value in the template grew beyond {MAX_VALUE_CHARS} characters.")
    return value


def _guard(func: Any) -> Any:
    """Wrap a jinja filter or test: count it against the budget and check the size of what it returns."""

    @functools.wraps(func)  # copies jinja's pass_context/pass_eval_context marker too
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _tick()
        return _checked_size(func(*args, **kwargs))

    return wrapper


def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> Any:
    text, old_s, new_s = str(s), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new_s) - len(old_s)) > MAX_VALUE_CHARS:
        raise TemplateRenderError(f"'replace' would make a value longer than {MAX_VALUE_CHARS} characters.")
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


_replace.jinja_pass_arg = jinja_filters.do_replace.jinja_pass_arg  # type: ignore[attr-defined]

_FILTER_NAMES = (
    "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int", "join", "last",
    "length", "list", "lower", "max", "min", "reverse", "round", "sort", "string", "striptags", "sum",
    "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)
_FILTERS: dict[str, Any] = {name: _guard(jinja_filters.FILTERS[name]) for name in _FILTER_NAMES}
_FILTERS["replace"] = _guard(_replace)
_FILTERS["_bounded"] = _bounded  # internal, not nameable in templates (underscore names are refused)

_TEST_NAMES = (
    "boolean", "defined", "divisibleby", "eq", "equalto", "even", "false", "ge", "gt", "in", "le", "lower",
    "lt", "mapping", "ne", "none", "number", "odd", "sequence", "string", "true", "undefined", "upper",
    "==", "!=", "<", "<=", ">", ">=",
)
_TESTS: dict[str, Any] = {name: _guard(jinja_tests.TESTS[name]) for name in _TEST_NAMES}


class _NoteEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=ChainableUndefined)
        self.globals.clear()
        self.filters = dict(_FILTERS)
        self.tests = dict(_TESTS)

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._lookup(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._lookup(obj, argument)

    def _lookup(self, obj: Any, key: Any) -> Any:
        _tick()
        if isinstance(key, str) and key.startswith("_"):
            raise SecurityError(f"'{key}' is not allowed in templates.")
        if isinstance(obj, Mapping):
            if key in obj:
                return obj[key]
        elif isinstance(obj, LoopContext):
            if key in _LOOP_ATTRIBUTES:
                return getattr(obj, key)
        elif isinstance(obj, (list, tuple, str)) and isinstance(key, int) and not isinstance(key, bool):
            try:
                return obj[key]
            except IndexError:
                pass
        return self.undefined(obj=obj, name=key)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("Templates cannot call functions.")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*" and not (_is_number(left) and _is_number(right)):
            raise SecurityError("Templates cannot repeat text or lists with '*'.")
        if operator == "%" and not (_is_number(left) and _is_number(right)):
            raise SecurityError("Templates cannot format text with '%'.")
        if operator == "**" and not _small_power(left, right):
            raise SecurityError("Templates cannot compute numbers that large.")
        return _checked_size(super().call_binop(context, operator, left, right))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _small_power(base: Any, exponent: Any) -> bool:
    """True when base ** exponent stays below about 2**4096 (a huge int costs time and memory)."""
    if not (_is_number(base) and _is_number(exponent)):
        return False
    if isinstance(base, float) or isinstance(exponent, float) or exponent <= 1:
        return abs(exponent) <= 4096
    return abs(base).bit_length() * exponent <= 4096


_ENV = _NoteEnvironment()


# --------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------

_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.For, nodes.Name, nodes.Const,
    nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.And,
    nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Concat, nodes.CondExpr, nodes.Add, nodes.Sub,
    nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.List, nodes.Tuple, nodes.Keyword,
)
_NODE_WORDS: dict[type[nodes.Node], str] = {
    nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}", nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}", nodes.Call: "calling a function", nodes.FilterBlock: "{% filter %}",
    nodes.With: "{% with %}", nodes.Include: "{% include %}", nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}", nodes.Extends: "{% extends %}", nodes.Block: "{% block %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}", nodes.EvalContextModifier: "{% autoescape %}",
    nodes.ExprStmt: "{% do %}", nodes.Slice: "slicing", nodes.Dict: "dict literals",
}
_FORBIDDEN_NAMES = frozenset({"self", "super", "caller", "varargs", "kwargs"})


def validate_template(text: str) -> list[TemplateProblem]:
    """Problems in a note template, for the rule editor: syntax errors, refused constructs, failures when
    rendered with the sample context, and unknown placeholders (these render empty and do not block)."""
    problems = _static_problems(text)
    if not any(p.blocking for p in problems):
        try:
            _render_checked(text, sample_context())
        except TemplateRenderError as exc:
            problems.append(TemplateProblem(None, str(exc), "render"))
    return problems


def _static_problems(text: str) -> list[TemplateProblem]:
    if not isinstance(text, str):
        return [TemplateProblem(None, "The template must be text.", "syntax")]
    if len(text) > MAX_TEMPLATE_CHARS:
        return [TemplateProblem(None, f"The template is longer than {MAX_TEMPLATE_CHARS} characters.",
                                "syntax")]
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(exc.lineno, _syntax_message(exc), "syntax")]
    except (RecursionError, MemoryError):
        return [TemplateProblem(None, "The template is nested too deeply.", "syntax")]
    except Exception as exc:  # any parser failure is a problem to show, not a crash
        return [TemplateProblem(None, f"The template could not be read: {exc}", "syntax")]
    checker = _Checker()
    try:
        checker.visit(tree, {})
    except RecursionError:
        return [TemplateProblem(None, "The template is nested too deeply.", "syntax")]
    problems = checker.problems
    if not any(p.blocking for p in problems):
        try:
            _compile(text)
        except TemplateSyntaxError as exc:
            problems.append(TemplateProblem(exc.lineno, _syntax_message(exc), "syntax"))
        except Exception:  # e.g. Python's own limit on nested expressions
            problems.append(TemplateProblem(None, "The template is too complex to compile.", "syntax"))
    return problems


def _syntax_message(exc: TemplateSyntaxError) -> str:
    return f"Syntax error: {exc.message or 'the template could not be read'}"


class _Checker:
    def __init__(self) -> None:
        self.problems: list[TemplateProblem] = []
        self._seen: set[tuple[int | None, str]] = set()

    def add(self, node: nodes.Node, message: str, kind: str) -> None:
        line = getattr(node, "lineno", None)
        if (line, message) not in self._seen:
            self._seen.add((line, message))
            self.problems.append(TemplateProblem(line, message, kind))

    def visit(self, node: nodes.Node, scope: dict[str, tuple[str, ...]]) -> None:
        """scope: loop variables visible here → the keys their items have (empty when unknown)."""
        if not isinstance(node, _ALLOWED_NODES):
            word = _NODE_WORDS.get(type(node), type(node).__name__)
            self.add(node, f"{word} is not allowed in note templates.", "forbidden")
            return
        if isinstance(node, nodes.For):
            self._visit_for(node, scope)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)) and self._check_path(node, scope):
            return
        if isinstance(node, nodes.Filter) and node.name.startswith("_"):
            self.add(node, f"The filter '{node.name}' is not allowed.", "forbidden")
        for child in node.iter_child_nodes():
            self.visit(child, scope)

    def _visit_for(self, node: nodes.For, scope: dict[str, tuple[str, ...]]) -> None:
        if node.recursive:
            self.add(node, "Recursive loops are not allowed in note templates.", "forbidden")
        self.visit(node.iter, scope)
        inner = dict(scope)
        item_keys = ()
        path = _dotted(node.iter)
        if path in PLACEHOLDERS:
            item_keys = PLACEHOLDERS[path].item_keys
        single = isinstance(node.target, nodes.Name)
        targets = [node.target] if single else list(node.target.find_all(nodes.Name))
        for target in targets:
            if target.name.startswith("_") or target.name in _FORBIDDEN_NAMES:
                self.add(target, f"'{target.name}' cannot be used as a loop variable.", "forbidden")
            inner[target.name] = item_keys if single else ()
        inner["loop"] = tuple(sorted(_LOOP_ATTRIBUTES))
        for child in [*node.body, *node.else_]:
            self.visit(child, inner)
        if node.test is not None:
            self.visit(node.test, inner)

    def _check_path(self, node: nodes.Node, scope: dict[str, tuple[str, ...]]) -> bool:
        """Check a chain like issue.status.name. Returns True when the whole chain was handled."""
        parts: list[Any] = []
        cur = node
        while True:
            if isinstance(cur, nodes.Getattr):
                parts.append(cur.attr)
                cur = cur.node
            elif isinstance(cur, nodes.Getitem) and isinstance(cur.arg, nodes.Const):
                parts.append(cur.arg.value)
                cur = cur.node
            elif isinstance(cur, nodes.Getitem):
                # A computed key: check its parts separately.
                self.visit(cur.arg, scope)
                if isinstance(cur.node, (nodes.Getattr, nodes.Getitem, nodes.Name)):
                    self._check_path(cur.node, scope)
                else:
                    self.visit(cur.node, scope)
                return True
            else:
                break
        parts.reverse()
        for part in parts:
            if isinstance(part, str) and part.startswith("_"):
                self.add(node, f"'{part}' is not allowed in note templates.", "forbidden")
                return True
        if not isinstance(cur, nodes.Name):
            self.visit(cur, scope)
            return True
        root = cur.name
        if root.startswith("_") or root in _FORBIDDEN_NAMES:
            self.add(node, f"'{root}' is not allowed in note templates.", "forbidden")
            return True
        str_parts = [p for p in parts if isinstance(p, str)]
        if root in scope:
            keys = scope[root]
            if keys and str_parts and str_parts[0] not in keys:
                self.add(node, f"Unknown field '{root}.{str_parts[0]}' (items have {', '.join(keys)}).",
                         "unknown_placeholder")
            return True
        if root not in GROUPS:
            self.add(node, f"Unknown placeholder '{root}'{_suggest(root, GROUPS)}.", "unknown_placeholder")
            return True
        if len(str_parts) != len(parts):
            return True  # numeric index into a list placeholder: fine
        path = ".".join([root, *str_parts])
        if path not in PLACEHOLDERS and not any(p.startswith(path + ".") for p in PLACEHOLDERS):
            self.add(node, f"Unknown placeholder '{path}'{_suggest(path, PLACEHOLDERS)}.",
                     "unknown_placeholder")
        return True


def _dotted(node: nodes.Node) -> str | None:
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(parts)])


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------------------------------------
# Compiling and rendering
# --------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _compile(text: str) -> Any:
    tree = _ENV.parse(text)
    _bound_loops(tree)
    return _ENV.from_string(tree)


def _bound_loops(tree: nodes.Template) -> None:
    """Route every loop's iterable through the `_bounded` filter, which counts iterations."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "_bounded", [], [], None, None, lineno=loop.lineno)


def _plain(value: Any, *, depth: int = 0) -> Any:
    """Copy a context into plain data: dicts, lists, strings, numbers, None and Markup."""
    if depth > MAX_CONTEXT_DEPTH:
        return None
    if isinstance(value, Markup):
        return value[:MAX_VALUE_CHARS]  # slicing keeps it Markup
    if isinstance(value, str):
        return str(value)[:MAX_VALUE_CHARS]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth=depth + 1)
                for k, v in list(value.items())[:MAX_LIST_ITEMS]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth=depth + 1) for v in list(value)[:MAX_LIST_ITEMS]]
    return str(value)[:MAX_VALUE_CHARS]


def _render(text: str, context: Mapping[str, Any]) -> str:
    problem = _blocking_problem(text) if isinstance(text, str) else "The template must be text."
    if problem:
        raise TemplateRenderError(problem)
    return _render_checked(text, context)


@functools.lru_cache(maxsize=256)
def _blocking_problem(text: str) -> str | None:
    """The first problem that stops a template from rendering. It depends on the text alone, so each rule's
    template is parsed and checked once per process, not for every note."""
    blocking = [p for p in _static_problems(text) if p.blocking]
    return str(blocking[0]) if blocking else None


def _render_checked(text: str, context: Mapping[str, Any]) -> str:
    try:
        template = _compile(text)
    except Exception as exc:  # validate_template compiled it already; this is belt and braces
        raise TemplateRenderError("The template could not be compiled.") from exc
    plain = _plain(context if isinstance(context, Mapping) else {})
    token = _budget.set(_Budget())
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(plain):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateRenderError(f"The note would be longer than {MAX_OUTPUT_CHARS} characters.")
            chunks.append(chunk)
            _tick()
    except TemplateRenderError:
        raise
    except SecurityError as exc:
        raise TemplateRenderError(f"The template tried something that is not allowed: {exc}") from exc
    except RecursionError as exc:
        raise TemplateRenderError("The template is nested too deeply.") from exc
    except Exception as exc:  # any failure inside a user's template is reported, never raised raw
        raise TemplateRenderError(f"The template failed to render: {exc}") from exc
    finally:
        _budget.reset(token)
    return "".join(chunks)


def render_note(text: str, context: Mapping[str, Any]) -> str:
    """Render a note template to sanitised HTML. Raises TemplateRenderError with a plain-words message."""
    return sanitize_note_html(_render(text, context))

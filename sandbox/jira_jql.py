"""The tiny JQL subset the connector uses, evaluated over the Jira simulator's issues.

Supported: clauses joined by AND — `project = KEY`, `project in (A, B)`, `key = X-1`, `key in (X-1, Y-2)`
(also `issuekey`, `id`), `text ~ "words"` / `summary ~ "words"` (every word in the summary, or in summary and
description), `issue.property[name].path OP value` (OP one of = != > < >= <=), and a final
`ORDER BY field [ASC|DESC], ...`. Anything else is a 400, as an unsupported query should be loud.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_ORDER = re.compile(r"\s+ORDER\s+BY\s+(.+)$", re.IGNORECASE)
_LIST = re.compile(r"^(project|key|issuekey|id|status|labels)\s+(in|not in)\s*\((.*)\)$", re.IGNORECASE)
_EQ = re.compile(r"^(project|key|issuekey|id|status|labels|assignee)\s*(=|!=)\s*(.+)$", re.IGNORECASE)
_TEXT = re.compile(r"^(text|summary)\s*~\s*(.+)$", re.IGNORECASE)
_PROP = re.compile(r"^issue\.property\[([^\]]+)\]\.([\w.]+)\s*(=|!=|>=|<=|>|<)\s*(.+)$", re.IGNORECASE)

Predicate = Callable[[dict[str, Any]], bool]


class JqlError(ValueError):
    pass


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _field_values(issue: dict[str, Any], name: str) -> list[str]:
    name = name.lower()
    fields = issue["fields"]
    if name == "project":
        return [fields["project"]["key"], str(fields["project"]["id"])]
    if name in ("key", "issuekey"):
        return [issue["key"], *issue.get("old_keys", [])]
    if name == "id":
        return [str(issue["id"])]
    if name == "status":
        return [fields["status"]["name"].lower(), str(fields["status"]["id"])]
    if name == "labels":
        return list(fields.get("labels") or [])
    if name == "assignee":
        assignee = fields.get("assignee") or {}
        return [assignee.get("accountId") or assignee.get("name") or "empty"]
    raise JqlError(f"Field '{name}' is not supported by the sandbox")


def _clause(text: str) -> Predicate:
    text = text.strip()
    if match := _PROP.match(text):
        prop, path, op, raw = match.group(1), match.group(2), match.group(3), _unquote(match.group(4))

        def by_property(issue: dict[str, Any]) -> bool:
            value: Any = issue.get("properties", {}).get(prop)
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return op == "!="
            try:
                left, right = float(value), float(raw)
            except (TypeError, ValueError):
                left, right = str(value), raw  # type: ignore[assignment]
            return {"=": left == right, "!=": left != right, ">": left > right, "<": left < right,
                    ">=": left >= right, "<=": left <= right}[op]

        return by_property
    if match := _TEXT.match(text):
        where, words = match.group(1).lower(), _unquote(match.group(2)).lower().split()

        def by_text(issue: dict[str, Any]) -> bool:
            fields = issue["fields"]
            haystack = fields.get("summary") or ""
            if where == "text":
                haystack += " " + (fields.get("description_text") or "")
            return all(word in haystack.lower() for word in words)

        return by_text
    if match := _LIST.match(text):
        name, negate = match.group(1), match.group(2).lower() == "not in"
        wanted = {_unquote(v).lower() for v in match.group(3).split(",") if v.strip()}
        return lambda issue: negate != any(v.lower() in wanted for v in _field_values(issue, name))
    if match := _EQ.match(text):
        name, negate, wanted = match.group(1), match.group(2) == "!=", _unquote(match.group(3)).lower()
        return lambda issue: negate != any(v.lower() == wanted for v in _field_values(issue, name))
    raise JqlError(f"Error in the JQL Query: the sandbox does not understand '{text}'")


def compile_jql(jql: str) -> tuple[Predicate, list[tuple[str, bool]]]:
    """A predicate over internal issues and the ORDER BY keys [(field, descending)]."""
    jql = (jql or "").strip()
    order: list[tuple[str, bool]] = []
    if match := _ORDER.search(" " + jql):
        jql = (" " + jql)[: match.start()].strip()
        for part in match.group(1).split(","):
            bits = part.split()
            order.append((bits[0].lower(), len(bits) > 1 and bits[1].upper() == "DESC"))
    clauses = [_clause(c) for c in re.split(r"\s+AND\s+", jql, flags=re.IGNORECASE) if c.strip()]
    return (lambda issue: all(c(issue) for c in clauses)), order


def sort_key(field: str) -> Callable[[dict[str, Any]], Any]:
    if field in ("key", "id", "issuekey"):
        return lambda issue: int(issue["id"])
    if field in ("created", "updated"):
        return lambda issue: issue["fields"][field]
    raise JqlError(f"ORDER BY {field} is not supported by the sandbox")

"""The placeholders a note template may use, sample values for previews, and the default note templates.

The catalogue is the single source for the rule editor's help panel, for `validate_template`'s "unknown
placeholder" check and for `sample_context()`. Contexts are plain data (dicts, lists, strings, numbers);
only `comment.body_html` is HTML, produced and sanitised by the service itself, and it is passed as
`markupsafe.Markup` so the template does not escape it a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from connector.jira_markup import wiki_to_html

__all__ = [
    "DEFAULT_TEMPLATES",
    "GROUPS",
    "PLACEHOLDERS",
    "TRIGGER_KINDS",
    "Placeholder",
    "sample_context",
]


@dataclass(frozen=True)
class Placeholder:
    path: str  # dotted, as written in a template: "issue.status.name"
    description: str
    sample: Any
    # For lists of records (event.changes): the keys each item has, usable inside a for loop.
    item_keys: tuple[str, ...] = ()


_SAMPLE_COMMENT_WIKI = (
    "Thanks for the report. The fix is in *2.4.1*; see [release notes|https://example.com/releases/2.4.1]."
)


def _p(path: str, description: str, sample: Any, item_keys: tuple[str, ...] = ()) -> Placeholder:
    return Placeholder(path, description, sample, item_keys)


GROUPS: dict[str, tuple[Placeholder, ...]] = {
    "issue": (
        _p("issue.key", "Issue key, current after moves", "ABC-1"),
        _p("issue.summary", "Issue summary (title)", "Checkout page shows a blank screen"),
        _p("issue.url", "Link to the issue in Jira", "https://example.atlassian.net/browse/ABC-1"),
        _p("issue.type", "Issue type name", "Bug"),
        _p("issue.priority", "Priority name; empty when the project has none", "High"),
        _p("issue.status.name", "Current status name", "In Progress"),
        _p("issue.status.category", "Current status category: To Do, In Progress or Done", "In Progress"),
        _p("issue.status_from", "Status before the transition (transition events)", "To Do"),
        _p("issue.status_to", "Status after the transition (transition events)", "In Progress"),
        _p("issue.assignee", "Assignee's display name; empty when unassigned", "Dana Developer"),
        _p("issue.reporter", "Reporter's display name", "Sam Support"),
        _p("issue.resolution", "Resolution name; empty while unresolved", ""),
        _p("issue.fix_versions", "Fix version names (a list)", ["2.4.1"]),
        _p("issue.labels", "Labels (a list)", ["customer", "checkout"]),
    ),
    "comment": (
        _p("comment.author", "Display name of the comment's author", "Dana Developer"),
        _p("comment.body_html", "The comment as safe HTML (converted and sanitised)",
           Markup(wiki_to_html(_SAMPLE_COMMENT_WIKI))),  # noqa: S704 - sanitised by wiki_to_html
        _p("comment.visibility", "Who may see the comment in Jira: empty when public, else the group or role",
           ""),
    ),
    "actor": (
        _p("actor.name", "Display name of the person whose action caused the event", "Dana Developer"),
    ),
    "links": (
        _p("links.count", "How many Intercom conversations are linked to the issue", 3),
    ),
    "event": (
        _p("event.kind", "What happened, e.g. issue_transitioned or comment_created", "issue_transitioned"),
        _p("event.changes", "Changed fields (a list; each has field, from and to)",
           [{"field": "status", "from": "To Do", "to": "In Progress"},
            {"field": "priority", "from": "Medium", "to": "High"}],
           item_keys=("field", "from", "to")),
    ),
}

PLACEHOLDERS: dict[str, Placeholder] = {p.path: p for group in GROUPS.values() for p in group}


def sample_context() -> dict[str, Any]:
    """A complete example context built from the catalogue's samples, for previews and tests."""
    context: dict[str, Any] = {}
    for placeholder in PLACEHOLDERS.values():
        node = context
        *parents, leaf = placeholder.path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        sample = placeholder.sample
        node[leaf] = [dict(x) if isinstance(x, dict) else x for x in sample] if isinstance(sample, list) else sample
    return context


# Short notes an agent can read at a glance: the key in bold, what changed, the summary and a link.
_ISSUE = '<b>{{ issue.key }}</b>'
_LINK = '<a href="{{ issue.url }}">{{ issue.summary }}</a>'

DEFAULT_TEMPLATES: dict[str, str] = {
    "issue_transitioned": (
        f"<p>{_ISSUE} moved from <i>{{{{ issue.status_from }}}}</i> to <i>{{{{ issue.status_to }}}}</i>"
        # The resolution only when it says more than the status ("Done (Done)" reads as a mistake).
        f"{{% if issue.resolution and issue.resolution != issue.status_to %}} ({{{{ issue.resolution }}}})"
        f"{{% endif %}}: {_LINK}</p>"
    ),
    "comment_created": (
        f"<p>{{{{ comment.author }}}} commented on {_ISSUE}: {_LINK}</p>"
        "{{ comment.body_html }}"
    ),
    "assignee_changed": (
        f"<p>{_ISSUE} {{% if issue.assignee %}}is now assigned to <b>{{{{ issue.assignee }}}}</b>"
        f"{{% else %}}is now unassigned{{% endif %}}: {_LINK}</p>"
    ),
    "fields_changed": (
        f"<p>{_ISSUE} was updated by {{{{ actor.name }}}}: {_LINK}</p>"
        "<ul>{% for change in event.changes %}"
        "<li>{{ change.field }}: {{ change.from or '(none)' }} → {{ change.to or '(none)' }}</li>"
        "{% endfor %}</ul>"
    ),
    "issue_created": (
        f"<p>{{{{ issue.type }}}} {_ISSUE} was created by {{{{ issue.reporter }}}}: {_LINK}</p>"
    ),
    "issue_deleted": (
        f"<p>{_ISSUE} ({{{{ issue.summary }}}}) was deleted in Jira by {{{{ actor.name }}}}. "
        "This conversation is no longer linked to it.</p>"
    ),
    "conversation_linked": (
        f"<p>Linked to {_ISSUE}: {_LINK} — status <i>{{{{ issue.status.name }}}}</i>"
        "{% if issue.assignee %}, assigned to {{ issue.assignee }}{% endif %}.</p>"
    ),
    "conversation_unlinked": (
        f"<p>Unlinked from {_ISSUE}: {_LINK}</p>"
    ),
}

TRIGGER_KINDS: tuple[str, ...] = tuple(DEFAULT_TEMPLATES)

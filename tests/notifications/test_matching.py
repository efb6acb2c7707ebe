"""Rule matching as a table: triggers x from/to x conditions."""

from dataclasses import dataclass, field

import pytest

from connector.jira_events import (
    AssigneeChanged,
    Comment,
    CommentCreated,
    FieldChange,
    FieldsChanged,
    IssueRef,
    IssueTransitioned,
    StatusRef,
)
from notifications.matching import rule_matches, rules_for_event, status_matches

TODO = StatusRef(id="10000", name="To Do", category="new")
PROGRESS = StatusRef(id="3", name="In Progress", category="indeterminate")
DONE = StatusRef(id="10001", name="Done", category="done")
ISSUE = IssueRef(id="1", key="SUP-1", issue_type="Bug", priority="High", labels=("customer", "checkout"))


@dataclass
class Rule:
    trigger: str
    from_status: str = ""
    to_status: str = ""
    fields: list = field(default_factory=list)
    comment_visibility: list = field(default_factory=list)
    issue_types: list = field(default_factory=list)
    priorities: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    enabled: bool = True
    stop_after: bool = False


def common(**kw):
    return {
        "issue": kw.pop("issue", ISSUE),
        "actor": None,
        "timestamp": 1,
        "webhook_event": "x",
        "is_own": kw.pop("is_own", False),
        "dedupe_key": "k",
        **kw,
    }


def transition(frm=TODO, to=PROGRESS, **kw):
    return IssueTransitioned(**common(**kw), from_status=frm, to_status=to)


def comment(visibility="public"):
    return CommentCreated(**common(), comment=Comment(id="5", body="hi", visibility=visibility))


@pytest.mark.parametrize(
    ("rule", "event", "fires"),
    [
        (Rule("issue_transitioned"), transition(), True),
        (Rule("issue_transitioned", to_status="Done"), transition(to=DONE), True),
        (Rule("issue_transitioned", to_status="done"), transition(to=DONE), True),  # names ignore case
        (Rule("issue_transitioned", to_status="10001"), transition(to=DONE), True),  # by id
        (Rule("issue_transitioned", to_status="category:done"), transition(to=DONE), True),
        (Rule("issue_transitioned", to_status="category:done"), transition(to=PROGRESS), False),
        (Rule("issue_transitioned", from_status="To Do", to_status="In Progress"), transition(), True),
        (Rule("issue_transitioned", from_status="Done", to_status="In Progress"), transition(), False),
        (Rule("issue_transitioned", from_status="any", to_status="any"), transition(), True),
        (Rule("issue_transitioned", to_status="Done"), transition(to=PROGRESS), False),
        (Rule("assignee_changed"), transition(), False),  # another trigger
        (Rule("assignee_changed"), AssigneeChanged(**common(), from_user=None, to_user=None), True),
        (Rule("comment_created"), comment(), True),
        (Rule("comment_created"), comment("internal"), False),  # internal JSM comments fail closed
        (Rule("comment_created"), comment("restricted"), False),
        (Rule("comment_created", comment_visibility=["public", "internal"]), comment("internal"), True),
        (Rule("comment_created", comment_visibility=["restricted"]), comment("restricted"), True),
        (Rule("issue_transitioned", issue_types=["Bug"]), transition(), True),
        (Rule("issue_transitioned", issue_types=["Task"]), transition(), False),
        (Rule("issue_transitioned", priorities=["high"]), transition(), True),
        (Rule("issue_transitioned", priorities=["Low"]), transition(), False),
        (Rule("issue_transitioned", labels=["checkout", "billing"]), transition(), True),  # any of
        (Rule("issue_transitioned", labels=["billing"]), transition(), False),
        (Rule("issue_transitioned", enabled=False), transition(), False),
        (Rule("issue_transitioned"), transition(is_own=True), False),  # our own app user: no echo
    ],
)
def test_rule_matching_table(rule, event, fires):
    assert rule_matches(rule, event) is fires


def _fields(*changes):
    return FieldsChanged(
        **common(),
        changes=tuple(
            FieldChange(field=f, field_id=fid, from_value=None, from_string=a, to_value=None, to_string=b)
            for f, fid, a, b in changes
        ),
    )


@pytest.mark.parametrize(
    ("wanted", "fires"),
    [([], True), (["priority"], True), (["Priority"], True), (["customfield_10072"], False), (["labels"], False)],
)
def test_fields_changed_fires_only_for_the_chosen_fields(wanted, fires):
    assert (
        rule_matches(Rule("fields_changed", fields=wanted), _fields(("priority", "priority", "Low", "High"))) is fires
    )


def test_stop_after_keeps_later_rules_from_firing():
    first, second = Rule("issue_transitioned", stop_after=True), Rule("issue_transitioned")
    assert rules_for_event([first, second], transition()) == [first]
    first.stop_after = False
    assert rules_for_event([first, second], transition()) == [first, second]


def test_a_status_condition_does_not_match_an_unknown_status():
    assert status_matches("Done", None) is False
    assert status_matches("", None) is True

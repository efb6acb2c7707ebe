"""Jira webhook bodies → typed events. Real samples come from the shared contracts folder; variants the
samples lack are fixture files in tests/fixtures/jira_webhooks named `<event>__<variant>.json`."""

import copy
import json
import os
import random
from pathlib import Path

import pytest

from connector.jira_events import (
    DISPATCH,
    IGNORED_EVENTS,
    SUPPORTED_EVENTS,
    AssigneeChanged,
    CommentCreated,
    CommentDeleted,
    CommentUpdated,
    FieldsChanged,
    IssueCreated,
    IssueDeleted,
    IssueMoved,
    IssueTransitioned,
    StatusRef,
    event_kinds,
    parse_jira_event,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("CONTRACTS_DIR") or REPO.parent / "shared" / "contracts") / "jira-webhooks"
FIXTURES = REPO / "tests" / "fixtures" / "jira_webhooks"
MM = "mattermost-plugin-jira/"
CLOUD_APP_USER = "712020:bot"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def sample(name: str, **kwargs):
    return parse_jira_event(load(SAMPLES / name), **kwargs)


def fixture(name: str, **kwargs):
    return parse_jira_event(load(FIXTURES / f"{name}.json"), **kwargs)


def kinds(result) -> list[str]:
    return [event.kind for event in result.events]


# Every real sample: expected outcome and the kinds of events, in order.
REAL_SAMPLES = {
    MM + "webhook-cloud-comment-created.json": ("handled", ["comment_created"]),
    MM + "webhook-cloud-comment-deleted.json": ("handled", ["comment_deleted"]),
    MM + "webhook-cloud-comment-updated.json": ("handled", ["comment_updated"]),
    MM + "webhook-cloud-issue-created-many-fields.json": ("handled", ["issue_created"]),
    MM + "webhook-cloud-issue-updated-custom-field.json": ("handled", ["fields_changed"]),
    MM + "webhook-issue-assigned-empty-changelog.json": ("ignored", []),
    MM + "webhook-issue-comment-created-indentation.json": ("handled", ["comment_created"]),
    MM + "webhook-issue-created.json": ("handled", ["issue_created"]),
    MM + "webhook-issue-deleted.json": ("handled", ["issue_deleted"]),
    MM + "webhook-issue-updated-assigned.json": ("handled", ["assignee_changed"]),
    MM + "webhook-issue-updated-edited.json": ("handled", ["fields_changed"]),
    MM + "webhook-issue-updated-reopened.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-issue-updated-resolved.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-issue-updated-started-working.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-server-comment-created.json": ("handled", ["comment_created"]),
    MM + "webhook-server-comment-deleted.json": ("handled", ["comment_deleted"]),
    MM + "webhook-server-comment-updated.json": ("handled", ["comment_updated"]),
    MM + "webhook-server-issue-updated-closed.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-server-issue-updated-comment-deleted.json": ("ignored", []),
    MM + "webhook-server-issue-updated-comment-edited.json": ("handled", ["comment_updated"]),
    MM + "webhook-server-issue-updated-commented-2.json": ("handled", ["comment_created"]),
    MM + "webhook-server-issue-updated-in-progress.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-server-issue-updated-reopened.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-server-issue-updated-resolved.json": ("handled", ["issue_transitioned"]),
    MM + "webhook-server-old-issue-updated-no-event-type-edited.json": ("handled", ["fields_changed"]),
    "zulip/change_status_v2.json": ("handled", ["issue_transitioned"]),
    "zulip/comment_created.json": ("handled", ["comment_created"]),
}


def test_the_expectations_cover_every_real_sample_on_disk():
    on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.json")}
    assert on_disk == set(REAL_SAMPLES)


@pytest.mark.parametrize(("name", "expected"), REAL_SAMPLES.items(), ids=list(REAL_SAMPLES))
def test_each_real_sample_parses_to_its_expected_outcome_and_events(name, expected):
    result = sample(name)
    assert (result.outcome, kinds(result)) == expected
    assert result.reason


# --- transitions ---------------------------------------------------------------------------------------


def test_a_cloud_transition_carries_status_ids_names_and_the_new_category():
    (event,) = sample(MM + "webhook-issue-updated-started-working.json").events
    assert isinstance(event, IssueTransitioned)
    assert (event.from_status.id, event.from_status.name) == ("10001", "To Do")
    assert event.to_status == StatusRef(id="3", name="In Progress", category="indeterminate")


def test_a_resolving_transition_keeps_the_resolution_inside_the_transition():
    (event,) = sample(MM + "webhook-issue-updated-resolved.json").events
    assert event.to_status.category == "done"
    assert event.resolution_change.to_string == "Done"


def test_a_reopening_transition_reports_the_cleared_resolution():
    (event,) = sample(MM + "webhook-server-issue-updated-reopened.json").events
    assert (event.from_status.name, event.to_status.name) == ("Resolved", "Reopened")
    assert (event.resolution_change.from_string, event.resolution_change.to_value) == ("Done", None)


def test_a_dc_transition_without_field_ids_is_recognised():
    (event,) = sample(MM + "webhook-server-issue-updated-closed.json").events
    assert (event.from_status.id, event.to_status.id, event.to_status.category) == ("5", "6", "done")


def test_resolution_listed_before_status_still_belongs_to_the_transition():
    result = fixture("issue_updated__resolution_first_with_fix_version")
    assert kinds(result) == ["issue_transitioned", "fields_changed"]
    assert result.events[0].resolution_change.to_string == "Done"
    assert [c.field for c in result.events[1].changes] == ["Fix Version"]


def test_a_resolution_changed_without_a_transition_is_a_field_change():
    (event,) = fixture("issue_updated__resolution_only").events
    assert [(c.field_id, c.to_string) for c in event.changes] == [("resolution", "Won't Do")]


def test_the_category_is_unknown_when_the_issue_is_already_in_another_status():
    (event,) = fixture("issue_updated__status_to_other_status_than_issue").events
    assert (event.to_status.id, event.to_status.category) == ("3", None)


# --- assignee and several events from one changelog ---------------------------------------------------


def test_an_assignment_takes_the_new_assignee_details_from_the_issue():
    (event,) = sample(MM + "webhook-issue-updated-assigned.json").events
    assert isinstance(event, AssigneeChanged) and event.from_user is None
    assert event.to_user.account_id == "5c5f880629be9642ba529340"
    assert event.to_user.email == "some-instance-test@gmail.com"


def test_status_and_assignee_changed_together_yield_two_events_with_distinct_dedupe_keys():
    result = fixture("issue_updated__assignee_and_status")
    assert kinds(result) == ["issue_transitioned", "assignee_changed"]
    assert result.events[1].to_user.display_name == "Ada Agent"
    assert result.events[0].dedupe_key != result.events[1].dedupe_key


def test_a_dc_reassignment_identifies_users_by_key():
    (event,) = fixture("issue_updated__assignee_dc").events
    assert (event.from_user.key, event.from_user.display_name) == ("JIRAUSER10200", "Bob Builder")
    assert (event.to_user.key, event.to_user.name) == ("JIRAUSER10100", "ada")


def test_an_unassignment_has_no_new_user():
    (event,) = fixture("issue_updated__unassigned_cloud").events
    assert (event.from_user.account_id, event.to_user) == ("557058:aaaa", None)


# --- other field changes, moves, create, delete -------------------------------------------------------


def test_a_custom_field_edit_becomes_a_fields_change():
    (event,) = sample(MM + "webhook-cloud-issue-updated-custom-field.json").events
    (change,) = event.changes
    assert (change.field_id, change.from_string, change.to_string) == ("customfield_10072", "1", "12")


def test_a_dc_custom_field_named_like_a_system_field_is_a_plain_field_change():
    (event,) = fixture("issue_updated__dc_custom_field_named_status").events
    assert isinstance(event, FieldsChanged)
    assert [(c.field, c.field_id, c.to_string) for c in event.changes] == [("Status", None, "Red")]


def test_rank_and_sprint_changes_are_kept_but_flagged_as_noise():
    (event,) = fixture("issue_updated__fields_only").events
    assert isinstance(event, FieldsChanged) and len(event.changes) == 4
    assert [c.field for c in event.meaningful_changes] == ["priority", "labels"]


def test_a_move_reports_old_and_new_keys_and_projects():
    result = fixture("issue_updated__moved")
    assert kinds(result) == ["issue_moved", "fields_changed"]
    moved = result.events[0]
    assert isinstance(moved, IssueMoved)
    assert (moved.old_key, moved.new_key) == ("SUP-7", "OPS-31")
    assert (moved.old_project_key, moved.new_project_key) == ("SUP", "OPS")
    assert [c.field for c in result.events[1].changes] == ["priority"]


def test_issue_created_does_not_also_report_its_initial_field_values():
    result = sample(MM + "webhook-cloud-issue-created-many-fields.json")
    assert [type(e) for e in result.events] == [IssueCreated]
    assert result.events[0].dedupe_key == "jira:issue_created:10509"


def test_the_issue_ref_reads_the_issue_fields():
    issue = sample(MM + "webhook-issue-updated-assigned.json").events[0].issue
    assert (issue.id, issue.key, issue.project_id, issue.project_key) == ("10040", "TES-41", "10000", "TES")
    assert (issue.issue_type, issue.priority, issue.labels) == ("Story", "High", ("test-label",))
    assert issue.summary == "Unit test summary 1"
    assert issue.browse_url == "https://some-instance-test.atlassian.net/browse/TES-41"


def test_the_issue_ref_lists_fix_version_names_and_the_resolution():
    issue = fixture("issue_updated__resolution_first_with_fix_version").events[0].issue
    assert (issue.fix_versions, issue.resolution, issue.status.name) == (("2.4",), "Done", "Done")


def test_the_site_url_overrides_the_browse_base():
    issue = sample(MM + "webhook-issue-deleted.json", site_url="https://jira.example.com/").events[0].issue
    assert issue.browse_url == "https://jira.example.com/browse/IDT-19"


def test_a_dc_browse_url_keeps_the_context_path():
    (event,) = fixture("issue_deleted__dc").events
    assert isinstance(event, IssueDeleted)
    assert event.issue.browse_url == "https://jira.acme.test/jira/browse/SUP-7"


# --- comments -----------------------------------------------------------------------------------------


def test_a_dc_comment_event_takes_the_issue_id_from_the_comment_url():
    (event,) = sample(MM + "webhook-server-comment-created.json").events
    assert (event.issue.id, event.issue.key) == ("10013", None)
    assert (event.comment.id, event.comment.body) == ("10082", "unik")
    assert event.actor.name == "levbrouk"


def test_a_cloud_comment_keeps_body_author_and_is_public():
    (event,) = sample("zulip/comment_created.json").events
    assert (event.comment.body, event.comment.visibility) == ("Leaving a comment here! :)", "public")
    assert event.actor.account_id == "5a1b0e47748e770ed11f338c"


def test_a_jsm_internal_comment_on_cloud_is_internal():
    (event,) = fixture("comment_created__jsm_internal_cloud").events
    assert (event.comment.visibility, event.comment.restriction) == ("internal", None)


def test_a_jsm_internal_comment_on_dc_is_internal():
    (event,) = fixture("comment_created__jsm_internal_dc").events
    assert (event.comment.visibility, event.issue.id) == ("internal", "10042")


def test_a_jsm_comment_on_dc_marked_not_internal_is_public():
    assert fixture("comment_created__jsm_public_dc").events[0].comment.visibility == "public"


def test_a_role_restricted_comment_is_restricted_to_that_role():
    comment = fixture("comment_created__role_restricted").events[0].comment
    assert comment.visibility == "restricted"
    assert (comment.restriction.type, comment.restriction.value) == ("role", "Developers")


def test_a_group_restricted_comment_edit_is_restricted_to_that_group():
    (event,) = fixture("comment_updated__group_restricted_dc").events
    assert isinstance(event, CommentUpdated)
    assert (event.comment.restriction.type, event.comment.restriction.value) == ("group", "jira-staff")


def test_a_cloud_comment_deletion_has_no_known_actor_but_a_dc_one_does():
    assert sample(MM + "webhook-cloud-comment-deleted.json").events[0].actor is None
    assert sample(MM + "webhook-server-comment-deleted.json").events[0].actor.key == "levbrouk"


def test_an_issue_update_announcing_a_deleted_comment_yields_comment_deleted():
    (event,) = fixture("issue_updated__comment_deleted_cloud").events
    assert isinstance(event, CommentDeleted) and event.comment.id == "20007"


def test_a_dc_comment_deletion_without_the_comment_is_ignored_with_a_reason():
    result = sample(MM + "webhook-server-issue-updated-comment-deleted.json")
    assert (result.outcome, result.events) == ("ignored", ())
    assert "comment_deleted delivery" in result.reason


# --- deduplication ------------------------------------------------------------------------------------


def test_both_cloud_deliveries_of_a_new_comment_share_a_dedupe_key():
    direct = sample(MM + "webhook-cloud-comment-created.json").events[0]
    via_issue = fixture("issue_updated__commented_cloud").events[0]
    assert isinstance(via_issue, CommentCreated) and direct.dedupe_key == via_issue.dedupe_key


def test_both_dc_deliveries_of_a_comment_edit_share_a_dedupe_key():
    direct = sample(MM + "webhook-server-comment-updated.json").events[0]
    via_issue = sample(MM + "webhook-server-issue-updated-comment-edited.json").events[0]
    assert direct.dedupe_key == via_issue.dedupe_key


def test_creating_and_then_editing_a_comment_get_different_dedupe_keys():
    created = sample(MM + "webhook-cloud-comment-created.json").events[0]
    updated = sample(MM + "webhook-cloud-comment-updated.json").events[0]
    assert created.dedupe_key != updated.dedupe_key


# --- own app user -------------------------------------------------------------------------------------


def test_a_comment_written_by_the_app_user_is_own():
    assert fixture("comment_created__own_app_user", app_user_ids=[CLOUD_APP_USER]).events[0].is_own
    assert not fixture("comment_created__own_app_user").events[0].is_own


def test_an_issue_created_by_the_app_user_is_own():
    assert fixture("issue_created__own_app_user", app_user_ids={CLOUD_APP_USER}).events[0].is_own


@pytest.mark.parametrize("app_user_id", ["intercom-bot", "JIRAUSER10999"])
def test_a_dc_app_user_is_recognised_by_name_or_key(app_user_id):
    assert fixture("issue_updated__own_app_user_dc", app_user_ids=[app_user_id]).events[0].is_own


def test_a_human_actor_is_not_own():
    result = sample(MM + "webhook-issue-updated-resolved.json", app_user_ids=[CLOUD_APP_USER])
    assert not result.events[0].is_own


# --- ignored, unsupported, anomalous ------------------------------------------------------------------


def test_a_worklog_event_is_ignored():
    result = fixture("worklog_created__ignored")
    assert (result.outcome, result.events, result.webhook_event) == ("ignored", (), "worklog_created")


def test_an_unknown_event_is_unsupported():
    result = fixture("board_teleported__unknown")
    assert (result.outcome, result.events) == ("unsupported", ())
    assert "board_teleported" in result.reason


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("issue_updated__no_issue_id", "issue has no id"),
        ("issue_updated__issue_not_object", "payload.issue is not an object"),
        ("issue_updated__changelog_items_not_list", "changelog.items is not a list"),
        ("issue_updated__commented_without_comment", "issue_commented without a comment"),
        ("comment_created__no_issue_and_bad_self", "comment.self does not name one"),
        ("comment_created__no_timestamp", "no timestamp"),
        ("no_webhook_event__anomalous", "no webhookEvent"),
    ],
)
def test_a_payload_missing_what_we_need_is_anomalous_with_a_reason(name, reason):
    result = fixture(name)
    assert (result.outcome, result.events) == ("anomalous", ())
    assert reason in result.reason


@pytest.mark.parametrize("payload", [[], "comment_created", None, 42])
def test_a_body_that_is_not_an_object_is_anomalous(payload):
    assert parse_jira_event(payload).outcome == "anomalous"


# --- catalogue ----------------------------------------------------------------------------------------


def test_event_kinds_names_every_kind_once_with_a_description():
    listed = dict(event_kinds())
    assert len(listed) == len(event_kinds()) and all(listed.values())
    produced = {e.kind for p in SAMPLES.rglob("*.json") for e in parse_jira_event(load(p)).events}
    produced |= {e.kind for p in FIXTURES.glob("*.json") for e in parse_jira_event(load(p)).events}
    assert produced == set(listed)


def test_supported_events_come_from_the_dispatch_table_and_none_is_also_ignored():
    assert set(DISPATCH) == SUPPORTED_EVENTS
    assert not SUPPORTED_EVENTS & IGNORED_EVENTS


# --- robustness ---------------------------------------------------------------------------------------

_JUNK = [None, [], {}, "", "x", 0, True, [1, {"a": None}], {"id": None}]


def _mutate(node, rng: random.Random) -> None:
    """Delete or replace one random key somewhere in the tree, mostly below the top level."""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        containers = [k for k in keys if isinstance(node[k], dict | list) and node[k]]
        if containers and rng.random() < 0.85:
            node = node[rng.choice(containers)]
            continue
        key = rng.choice(keys)
        if isinstance(node, dict) and rng.random() < 0.5:
            del node[key]
        else:
            node[key] = copy.deepcopy(rng.choice(_JUNK))
        return


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.json")), ids=lambda p: p.name)
def test_random_damage_to_a_real_sample_never_raises(path):
    rng = random.Random(path.name)  # deterministic per sample, so a failure reproduces
    original = load(path)
    for _ in range(300):
        payload = copy.deepcopy(original)
        for _ in range(rng.randint(1, 4)):
            _mutate(payload, rng)
        result = parse_jira_event(payload, app_user_ids=["admin"])
        assert result.outcome in {"handled", "ignored", "unsupported", "anomalous"}

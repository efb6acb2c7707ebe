"""The ToolsPlus import: both property formats, idempotent, progress, and skipped-with-reason."""

import io

import pytest
from django.core.management import call_command

from linking.models import ConversationLink
from linking.toolsplus_import import TOOLSPLUS_PROPERTY, conversation_ids_from_property

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ({"count": 2, "conversationIds": ["11", "12"]}, ["11", "12"]),
        ({"count": 1, "conversationIds": [13]}, ["13"]),
        ([{"id": "14"}, {"id": 15}], ["14", "15"]),
        ([{"id": "16"}, {"id": "16"}], ["16"]),
        (None, []),
    ],
)
def test_both_property_formats_give_the_conversation_ids(value, ids):
    assert conversation_ids_from_property(value)[0] == ids


def test_unusable_entries_are_reported_not_raised():
    ids, problems = conversation_ids_from_property({"conversationIds": ["21", "abc", None, True, "<x>"]})
    assert ids == ["21"]
    assert len(problems) == 4
    assert conversation_ids_from_property("oops")[1] and conversation_ids_from_property({"count": 3})[1]


@pytest.fixture
def toolsplus_site(connected):
    """Issues as ToolsPlus left them: new format, legacy format, none, broken, and an unconnected project."""
    sim = connected.jira
    sim.add_project("MKT", "Marketing")
    made = {
        "new": connected.issue("new format"),
        "legacy": connected.issue("legacy format"),
        "none": connected.issue("no links"),
        "broken": connected.issue("broken property"),
        "other": sim.create_issue("MKT", "unconnected project"),
    }
    sim.issue(made["new"]["key"])["properties"][TOOLSPLUS_PROPERTY] = {"count": 2, "conversationIds": ["101", "102"]}
    sim.issue(made["legacy"]["key"])["properties"][TOOLSPLUS_PROPERTY] = [{"id": "103"}, {"id": "bad id"}]
    sim.issue(made["broken"]["key"])["properties"][TOOLSPLUS_PROPERTY] = "not json we know"
    sim.issue(made["other"]["key"])["properties"][TOOLSPLUS_PROPERTY] = {"count": 1, "conversationIds": ["104"]}
    return made


def _run(site, *args):
    out = io.StringIO()
    call_command("import_toolsplus", "--site", str(site.pk), *args, stdout=out)
    return out.getvalue()


def test_the_import_creates_links_from_both_formats_and_reports_what_it_skipped(connected, toolsplus_site, eager):
    with eager(execute=True):
        output = _run(connected.site, "--jql", "project in (SUP, MKT) ORDER BY key ASC")
    links = {(link.issue_key, link.conversation_id, link.source) for link in ConversationLink.objects.all()}
    new, legacy = toolsplus_site["new"]["key"], toolsplus_site["legacy"]["key"]
    assert links == {(new, "101", "import"), (new, "102", "import"), (legacy, "103", "import")}
    assert f"{new}: 2 conversation(s)" in output  # progress
    assert "3 links created, 0 already there" in output
    assert f"{legacy}: 'bad id'" in output
    assert f"{toolsplus_site['broken']['key']}: the property is a str" in output
    assert f"{toolsplus_site['other']['key']}: project MKT is not connected" in output
    assert len(connected.sim_issue(new)["remotelinks"]) == 2  # the usual Jira updates follow


def test_running_the_import_again_changes_nothing(connected, toolsplus_site, eager):
    with eager(execute=True):
        _run(connected.site)
        output = _run(connected.site)
    assert "0 links created, 3 already there" in output
    assert ConversationLink.objects.count() == 3


def test_a_dry_run_reports_without_linking(connected, toolsplus_site):
    output = _run(connected.site, "--dry-run")
    assert "would link 2 conversation(s)" in output
    assert not ConversationLink.objects.exists()

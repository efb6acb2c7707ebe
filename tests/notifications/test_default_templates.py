"""The default templates read as a person would write them."""

import pytest

from notifications.placeholders import DEFAULT_TEMPLATES, sample_context
from notifications.rendering import render_note

pytestmark = pytest.mark.django_db


def test_a_transition_to_done_does_not_repeat_a_resolution_equal_to_the_status():
    context = sample_context()
    context["issue"].update(status_from="To Do", status_to="Done", resolution="Done")
    note = render_note(DEFAULT_TEMPLATES["issue_transitioned"], context)
    assert "moved from <i>To Do</i> to <i>Done</i>:" in note and "(Done)" not in note


def test_a_resolution_that_says_more_is_kept():
    context = sample_context()
    context["issue"].update(status_from="In Progress", status_to="Closed", resolution="Won't Do")
    context["issue"]["resolution"] = "Duplicate"
    assert "to <i>Closed</i> (Duplicate):" in render_note(DEFAULT_TEMPLATES["issue_transitioned"], context)


def test_a_forwarded_comment_names_its_author_and_the_issue():
    note = render_note(DEFAULT_TEMPLATES["comment_created"], sample_context())
    assert note.startswith("<p>Dana Developer commented on <b>ABC-1</b>")

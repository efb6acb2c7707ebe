"""Notification services: the test note a rule editor sends."""

import pytest

from notifications import services
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_test_note_is_a_test_delivery_with_a_sanitised_body(enqueued, django_capture_on_commit_callbacks):
    ws = factories.IntercomWorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        d = services.test_note_send(workspace=ws, conversation_id=" 42 ", body='<p onclick="x()">hi</p>')
    assert (d.source, d.conversation_id, d.action, d.body) == ("test", "42", "note", "<p>hi</p>")
    assert enqueued == [ws.pk]

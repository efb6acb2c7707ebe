"""End to end with a real Celery worker: a link made on the issue page reaches Jira through the worker."""

import pytest

from linking.models import ConversationLink
from sandbox.jira import COUNT_FIELD
from tests import factories
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_linking_on_the_issue_page_writes_remote_link_and_count_through_the_worker(
    connected, admin_client, celery_worker
):
    factories.SiteSearchSettingsFactory(site=connected.site, count_field_id=COUNT_FIELD)
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Worker path")
    response = admin_client.post(f"/issues/{issue['key']}/link", {"conversation": conversation["id"]})
    assert response.status_code == 302
    assert ConversationLink.objects.filter(issue_id=issue["id"]).exists()  # answered before Jira was touched
    wait_for(lambda: connected.sim_issue(issue["key"])["remotelinks"], message="the remote link")
    wait_for(lambda: connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 1, message="the count field")
    # written at once from what is stored, then again once the background refresh has read the conversation
    wait_for(
        lambda: "Worker path" in connected.sim_issue(issue["key"])["remotelinks"][0]["object"]["title"],
        message="the remote link titled from the snapshot",
    )

    link = ConversationLink.objects.get(issue_id=issue["id"])
    admin_client.post(f"/issues/{issue['key']}/links/{link.pk}/unlink")
    wait_for(lambda: connected.sim_issue(issue["key"])["remotelinks"] == [], message="the remote link removed")
    wait_for(lambda: connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 0, message="the count back to 0")

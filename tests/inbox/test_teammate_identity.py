"""The teammate who linked from the Inbox shows on the issue page, in the link history and in the delivery log
(the "conversation linked" note it caused)."""

from deliveries.models import Delivery
from deliveries.services import delivery_create_for_links
from linking.models import ConversationLink
from notifications.models import NotificationRule
from tests import factories
from tests.inbox.conftest import EMPTY_CANVAS


def _link_from_inbox(inbox) -> dict:
    issue = inbox.jira.create_issue("SUP", "Checkout fails")
    inbox.click(f"pick:{inbox.site.pk}:{issue['id']}", EMPTY_CANVAS)
    return issue


def test_the_issue_page_and_link_history_name_the_teammate(inbox, admin_client):
    issue = _link_from_inbox(inbox)

    page = admin_client.get(f"/issues/{issue['key']}/")
    history = admin_client.get(f"/reports/issues/{issue['key']}/")

    assert page.status_code == 200
    assert 'by <span class="linked-by">Tess Teammate</span> · from Intercom Inbox' in page.content.decode()
    assert "Tess Teammate" in history.content.decode()
    links = admin_client.get(f"/api/links/?issue={issue['key']}").json()["results"]
    assert links[0]["teammate_name"] == "Tess Teammate"


def test_the_linked_note_names_the_teammate_in_the_delivery_log(inbox, admin_client, eager_tasks, enqueued):
    NotificationRule.objects.update(enabled=False)
    NotificationRule.objects.create(name="Linked", trigger="conversation_linked", actions=[{"type": "note"}],
                                    template="Linked to {{ issue.key }} by {{ actor.name }}")
    with eager_tasks(execute=True):
        issue = _link_from_inbox(inbox)

    delivery = Delivery.objects.get()
    assert (delivery.issue_key, delivery.requested_by_name) == (issue["key"], "Tess Teammate")
    assert "Tess Teammate" in admin_client.get("/deliveries/").content.decode()
    assert "Tess Teammate" in admin_client.get(f"/deliveries/{delivery.pk}/").content.decode()
    assert admin_client.get(f"/api/deliveries/{delivery.pk}/").json()["requested_by_name"] == "Tess Teammate"


def test_planning_for_many_links_still_inserts_with_the_database_default(inbox):
    factories.ConversationLinkFactory(site=inbox.site, workspace=inbox.workspace, issue_id="1", issue_key="SUP-1",
                                      conversation_id="42")
    values = {"source": "rule", "webhook_event": None, "rule": None, "issue_id": "1", "issue_key": "SUP-1",
              "action": "note", "body": "<p>x</p>", "status": "pending", "verify": False, "attempts": 0,
              "next_attempt_at": "2026-01-01T00:00:00Z", "last_error": "", "part_id": "",
              "created_at": "2026-01-01T00:00:00Z", "params": {}}

    made = delivery_create_for_links(ConversationLink.objects.all(), key_prefix="k:", coalesce_prefix="", values=values)

    assert made == 1 and Delivery.objects.get().requested_by_name == ""

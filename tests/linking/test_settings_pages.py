"""Admin editors: visible fields per entity from the workspace's attributes, and the count field picker."""

import pytest

from linking.models import SiteSearchSettings, VisibleFields
from sandbox.jira import COUNT_FIELD
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_fields_editor_offers_standard_and_the_workspaces_own_attributes(connected, admin_client):
    connected.intercom.add_data_attribute("company", "churn_risk", "string")
    page = admin_client.get(f"/linking/workspaces/{connected.workspace.pk}/fields/").content.decode()
    assert 'value="custom_attributes.plan"' in page  # a contact attribute of the simulated workspace
    assert 'value="custom_attributes.churn_risk"' in page
    assert 'value="assignee"' in page and 'value="email"' in page
    assert "not access control" in page


def test_saving_the_editor_keeps_the_chosen_fields_in_the_chosen_order(connected, admin_client):
    url = f"/linking/workspaces/{connected.workspace.pk}/fields/"
    response = admin_client.post(
        url,
        {
            "conversation-field": ["state", "tags", "subject"],
            "conversation-order-state": "3",
            "conversation-order-tags": "1",
            "conversation-order-subject": "2",
            "contact-field": ["custom_attributes.plan", "not-an-attribute"],
            "company-field": [],
        },
    )
    assert response.status_code == 302
    chosen = {row.entity: row.fields for row in VisibleFields.objects.filter(workspace=connected.workspace)}
    assert chosen == {
        "conversation": ["tags", "subject", "state"],
        "contact": ["custom_attributes.plan"],
        "company": [],
    }


def test_the_editors_need_the_manage_connections_permission(connected, client):
    client.force_login(factories.UserFactory(role="Agent"))
    assert client.get(f"/linking/workspaces/{connected.workspace.pk}/fields/").status_code == 403
    assert client.get(f"/linking/sites/{connected.site.pk}/search/").status_code == 403


def test_the_count_field_picker_lists_number_fields_and_saves_the_choice(connected, admin_client, eager):
    url = f"/linking/sites/{connected.site.pk}/search/"
    page = admin_client.get(url).content.decode()
    assert f'value="{COUNT_FIELD}"' in page
    assert 'value="summary"' not in page  # only number custom fields
    with eager(execute=False):
        assert admin_client.post(url, {"count_field_id": COUNT_FIELD}).status_code == 302
    saved = SiteSearchSettings.objects.get(site=connected.site)
    assert (saved.count_field_id, saved.count_field_name) == (COUNT_FIELD, "Intercom conversations")
    assert admin_client.post(url, {"count_field_id": "summary"}).status_code == 302
    assert SiteSearchSettings.objects.get(site=connected.site).count_field_id == COUNT_FIELD

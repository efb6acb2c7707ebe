"""The rule editor's pickers come from Jira per project; the count field is created in Jira with one click."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from linking.models import SiteSearchSettings
from sandbox.jira import APP_USER_TOKEN
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sup(jira):
    cache.clear()
    site = factories.JiraSiteFactory(base_url=jira.url, account_email=jira.app_user["emailAddress"],
                                     api_token=APP_USER_TOKEN, app_account_id=jira.app_user["accountId"])
    sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
    return factories.ProjectConnectionFactory(site=site, project_id=sup["id"], project_key="SUP")


def test_the_editor_offers_the_projects_statuses_types_and_priorities(admin_client, sup):
    data = admin_client.get(reverse("rule_choices"), {"project": sup.pk}).json()
    assert {"To Do", "In Progress", "Done", "any", "category:done"} <= set(data["statuses"])
    assert data["issue_types"] == ["Bug", "Story", "Task"]
    assert data["priorities"] == ["High", "Highest", "Low", "Lowest", "Medium"] and data["problem"] == ""


def test_a_missing_or_odd_project_is_a_400(admin_client, db):
    assert admin_client.get(reverse("rule_choices")).status_code == 400
    assert admin_client.get(reverse("rule_choices"), {"project": "x'"}).status_code == 400


def test_the_count_field_is_created_and_chosen_when_the_app_user_may(admin_client, sup, jira):
    jira.set_global_permissions(jira.app_user["accountId"], {"ADMINISTER"})
    response = admin_client.post(reverse("search_settings", args=[sup.site.pk]), {"create": "1"}, follow=True)
    settings = SiteSearchSettings.objects.get(site=sup.site)
    created = next(f for f in jira.fields if f["id"] == settings.count_field_id)
    assert created["name"] == "Intercom conversations"
    assert created["schema"]["custom"].endswith(":float")
    assert "chose it" in response.content.decode()


def test_without_jira_admin_rights_the_page_says_who_can_create_it(admin_client, sup):
    response = admin_client.post(reverse("search_settings", args=[sup.site.pk]), {"create": "1"}, follow=True)
    assert "needs the Administer Jira global permission" in response.content.decode()
    assert not SiteSearchSettings.objects.filter(site=sup.site).exclude(count_field_id="").exists()

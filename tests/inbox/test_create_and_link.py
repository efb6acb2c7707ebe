"""Creating and linking Jira issues from the Inbox, against the Jira simulator: the teammate of the signed
request is recorded on the link, Jira's validation errors sit next to their field, and a project the app user
cannot browse says so."""

from inbox.fields import NONE, offered_fields
from inbox.models import CreateIssueForm
from inbox.services import FormChoice, FormSettings, create_form_save
from linking.models import ConversationLink, LinkChange
from notifications.models import NotificationRule
from sandbox.jira_create import SEVERITY_FIELD
from tests import factories
from tests.inbox.conftest import EMPTY_CANVAS, component, texts

TASK, BUG = "10001", "10002"
EMPTY = EMPTY_CANVAS


def _form(inbox, issue_type=TASK, ask=(), required=(), defaults=None, **allowed):
    metas = inbox.jira.create_screens.fields_for("SUP", issue_type)
    choices = [FormChoice(field=spec, asked=spec["id"] in ask, required=spec["id"] in required,
                          default=(defaults or {}).get(spec["id"], ""))
               for spec in offered_fields(metas)]
    name = inbox.jira.issue_types[issue_type]["name"]
    return create_form_save(project=inbox.project, settings=FormSettings(issue_type, name, choices, **allowed))


def test_create_prefills_from_the_conversation_creates_in_jira_and_links_as_the_teammate(inbox):
    form = inbox.click("create", inbox.initialize())
    assert component(form, "summary")["value"] == "Checkout fails"
    assert component(form, "description")["value"] == "I cannot pay with my card."
    assert {o["text"] for o in component(form, "issuetype")["options"]} == {"Task", "Bug", "Story"}

    home = inbox.click("create_submit", form, {"summary": "Checkout fails for Visa", "description": "Card refused",
                                               "issuetype": TASK})

    link = ConversationLink.objects.get()
    assert f"Created {link.issue_key} in Jira and linked it" in texts(home)
    assert link.issue_key in texts(home) and "Checkout fails for Visa" in texts(home)
    assert (link.source, link.teammate_name, link.teammate_id) == ("inbox", "Tess Teammate", inbox.teammate["id"])
    assert LinkChange.objects.get().by_name == "Tess Teammate"
    issue = inbox.jira.issue(link.issue_key)
    assert issue["fields"]["reporter"] == inbox.jira.app_user["accountId"]  # created as the app user
    description = str(issue["fields"]["description"])
    assert "Card refused" in description
    assert f"/inbox/conversation/{inbox.conversation['id']}" in description


def test_the_admins_form_asks_its_fields_with_defaults_and_sends_them(inbox):
    _form(inbox, BUG, ask={"priority", "labels"}, defaults={"priority": "2"})

    form = inbox.click("create", inbox.initialize())

    assert "issuetype" not in {c.get("id") for c in form["content"]["components"]}
    assert component(form, "priority")["value"] == "2"
    assert component(form, SEVERITY_FIELD)["label"] == "Severity *"  # Jira requires it for a Bug
    home = inbox.click("create_submit", form, {"summary": "Outage", "description": "", "priority": "2",
                                               "labels": "billing, visa", SEVERITY_FIELD: "10100"})
    key = ConversationLink.objects.get().issue_key
    assert f"Created {key}" in texts(home)
    fields = inbox.jira.issue(key)["fields"]
    assert (fields["priority_id"], fields["labels"], fields[SEVERITY_FIELD]) == ("2", ["billing", "visa"],
                                                                                 {"id": "10100"})


def test_a_required_field_left_empty_is_shown_next_to_it_without_calling_jira(inbox):
    _form(inbox, BUG)
    form = inbox.click("create", inbox.initialize())

    again = inbox.click("create_submit", form, {"summary": "Outage", SEVERITY_FIELD: NONE})

    assert not inbox.jira.issues
    parts = [c.get("text") or c.get("id") for c in again["content"]["components"]]
    assert parts[parts.index(SEVERITY_FIELD) + 1] == "Severity is required."
    assert component(again, "summary")["value"] == "Outage"  # what was typed stays


def test_jiras_validation_errors_sit_next_to_their_field(inbox):
    _form(inbox, TASK, ask={SEVERITY_FIELD})
    inbox.jira.create_screens.require("SUP", TASK, SEVERITY_FIELD)  # Jira changed after the form was set up
    form = inbox.click("create", inbox.initialize())

    again = inbox.click("create_submit", form, {"summary": "Outage", SEVERITY_FIELD: NONE})

    parts = [c.get("text") or c.get("id") for c in again["content"]["components"]]
    assert "Jira did not accept the issue." in parts
    assert parts[parts.index(SEVERITY_FIELD) + 1] == "Severity is required."
    assert not ConversationLink.objects.exists()


def test_jiras_errors_about_fields_not_on_the_form_are_named_at_the_top(inbox):
    _form(inbox, TASK)
    inbox.jira.create_screens.require("SUP", TASK, "labels")
    form = inbox.click("create", inbox.initialize())

    again = inbox.click("create_submit", form, {"summary": "Outage"})

    assert "labels: Labels is required. (not on this form" in texts(again)


def test_a_project_the_app_user_cannot_browse_says_so(inbox):
    _form(inbox, TASK)
    form = inbox.click("create", inbox.initialize())
    inbox.jira.set_permissions(inbox.jira.app_user["accountId"], "SUP", set())

    again = inbox.click("create_submit", form, {"summary": "Outage"})

    assert "may not browse or create issues in SUP" in texts(again)
    assert not inbox.jira.issues


def test_without_a_form_an_unbrowsable_project_gives_an_error_canvas(inbox):
    inbox.jira.set_permissions(inbox.jira.app_user["accountId"], "SUP", set())

    failed = inbox.click("create", inbox.initialize())

    assert "Could not open the create form" in texts(failed)
    assert "No project could be found" in texts(failed)


def test_link_existing_by_words_and_by_key(inbox):
    wanted = inbox.jira.create_issue("SUP", "Checkout button does nothing")
    inbox.jira.create_issue("SUP", "Password reset mail")
    search = inbox.click("link", inbox.initialize())

    by_words = inbox.click("link_search", search, {"query": "checkout"})
    by_key = inbox.click("link_search", search, {"query": wanted["key"].lower()})

    assert "Checkout button does nothing" in texts(by_words) and "Password reset" not in texts(by_words)
    assert texts(by_key) == texts(by_words)
    results = next(c for c in by_words["content"]["components"] if c["type"] == "list")["items"]
    home = inbox.click(results[0]["id"], by_words)
    assert f"Linked {wanted['key']}." in texts(home)
    link = ConversationLink.objects.get()
    assert (link.issue_id, link.teammate_name) == (wanted["id"], "Tess Teammate")


def test_search_only_finds_connected_projects_the_app_user_can_browse(inbox):
    inbox.jira.add_project("OPS", "Operations")
    inbox.jira.create_issue("OPS", "Checkout in another project")
    hidden = inbox.jira.create_issue("SUP", "Checkout hidden")
    inbox.jira.set_permissions(inbox.jira.app_user["accountId"], "SUP", set())

    found = inbox.click("link_search", EMPTY, {"query": "checkout"})

    assert "Nothing found in the connected projects the Jira app user can browse." in texts(found)
    refused = inbox.click(f"pick:{inbox.site.pk}:{hidden['id']}", found)
    assert "does not show that issue to the app user" in texts(refused)
    assert not ConversationLink.objects.exists()


def test_unlink_from_the_canvas_records_the_teammate(inbox):
    issue = inbox.jira.create_issue("SUP", "Checkout fails")
    home = inbox.click(f"pick:{inbox.site.pk}:{issue['id']}", EMPTY)
    link = ConversationLink.objects.get()

    after = inbox.click(component(home, f"unlink:{link.pk}")["id"], home)

    assert f"Unlinked {issue['key']}." in texts(after)
    assert not ConversationLink.objects.exists()
    assert list(LinkChange.objects.values_list("kind", "by_name")) == [("added", "Tess Teammate"),
                                                                        ("removed", "Tess Teammate")]


def test_home_shows_status_category_assignee_and_a_link_to_jira(inbox):
    issue = inbox.jira.create_issue("SUP", "Checkout fails", assignee=inbox.jira.admin_user["accountId"])
    inbox.jira.transition(issue["key"], "In Progress")
    inbox.click(f"pick:{inbox.site.pk}:{issue['id']}", EMPTY)

    home = inbox.initialize()

    assert f"**[{issue['key']}]({inbox.jira.url}/browse/{issue['key']})** Checkout fails" in texts(home)
    assert "🔵 In Progress · Ada Admin · linked by Tess Teammate" in texts(home)
    assert component(home, f"unlink:{ConversationLink.objects.get().pk}")["label"] == f"Unlink {issue['key']}"


def test_teammates_not_allowed_cannot_create_but_their_team_can(inbox):
    _form(inbox, TASK, allowed_admin_ids=["someone-else"], allowed_team_ids=["77"])

    home = inbox.initialize()
    refused = inbox.click("create", home)
    forged = inbox.click("create_submit", {"content": {"components": []}, "stored_data": {
        "project": inbox.project.pk}}, {"summary": "Sneaky"})
    allowed = inbox.click("create", inbox.initialize(team_ids=[77]), team_ids=[77])

    assert "create" not in {c.get("id") for c in home["content"]["components"]}
    assert "Tess Teammate, you may not create Jira issues" in texts(refused)
    assert "Tess Teammate may not create issues in SUP." in texts(forged)
    assert not inbox.jira.issues
    assert component(allowed, "create_submit")


def test_home_says_what_the_conversation_hears_about(inbox):
    NotificationRule.objects.all().delete()
    NotificationRule.objects.create(name="Done", trigger="issue_transitioned", to_status="category:done",
                                    actions=[{"type": "note"}])
    NotificationRule.objects.create(name="Comments", trigger="comment_created", project=inbox.project,
                                    actions=[{"type": "note"}])

    home = inbox.initialize()

    assert "This conversation hears about: issue transitioned (to done), comment added." in texts(home)


def test_on_data_center_the_description_is_wiki_text_with_a_link_back(inbox, jira_dc):
    inbox.site.base_url, inbox.site.deployment = jira_dc.url, "datacenter"
    inbox.site.save()
    inbox.jira = jira_dc
    inbox.project.project_id = next(p["id"] for p in jira_dc.projects.values() if p["key"] == "SUP")
    inbox.project.save()
    form = inbox.click("create", inbox.initialize())

    home = inbox.click("create_submit", form, {"summary": "Printer", "description": "It burns", "issuetype": TASK})

    key = ConversationLink.objects.get().issue_key
    assert f"Created {key}" in texts(home)
    assert jira_dc.issue(key)["fields"]["description"] == (
        f"It burns\n\n[Intercom conversation {inbox.conversation['id']} with Ada Customer|"
        f"https://app.intercom.com/a/inbox/sandbox1/inbox/conversation/{inbox.conversation['id']}]")


def test_a_field_with_more_choices_than_a_dropdown_holds_is_typed_by_name(inbox):
    inbox.jira.priorities.update({str(n): f"P{n}" for n in range(6, 14)})
    _form(inbox, TASK, ask={"priority"})
    form = inbox.click("create", inbox.initialize())
    assert component(form, "priority")["type"] == "input"

    wrong = inbox.click("create_submit", form, {"summary": "Outage", "priority": "urgent-ish"})
    home = inbox.click("create_submit", form, {"summary": "Outage", "priority": "p7"})

    assert "Pick one of: Highest, High, Medium" in texts(wrong)
    assert inbox.jira.issue(ConversationLink.objects.get().issue_key)["fields"]["priority_id"] == "7"
    assert "Created" in texts(home)


def test_with_several_projects_the_teammate_picks_one_they_may_use(inbox):
    ops = inbox.jira.add_project("OPS", "Operations")
    other = factories.ProjectConnectionFactory(site=inbox.site, workspace=inbox.workspace, project_id=ops["id"],
                                               project_key="OPS", project_name="Operations")
    hidden = factories.ProjectConnectionFactory(site=inbox.site, workspace=inbox.workspace, project_key="SEC")
    CreateIssueForm.objects.create(project=hidden, allowed_admin_ids=["someone-else"])

    choice = inbox.click("create", inbox.initialize())
    form = inbox.click(f"create_project:{other.pk}", choice)
    home = inbox.click("create_submit", form, {"summary": "Disk full", "issuetype": TASK})

    assert "OPS Operations" in texts(choice) and "SUP Support" in texts(choice) and "SEC" not in texts(choice)
    assert "Create a Jira issue in OPS" in texts(form)
    assert ConversationLink.objects.get().issue_key == "OPS-1" and "Created OPS-1" in texts(home)


def test_a_ticket_with_the_conversations_number_is_not_shown_as_linked(inbox):
    issue = inbox.jira.create_issue("SUP", "Tracker only")
    factories.ConversationLinkFactory(site=inbox.site, workspace=inbox.workspace, issue_id=issue["id"],
                                      issue_key=issue["key"], conversation_id=inbox.conversation["id"],
                                      target_type="ticket")

    home = inbox.initialize()

    assert issue["key"] not in texts(home)
    assert "No Jira issue is linked to this conversation yet." in texts(home)

"""The canvases of the Inbox app, drawn from data the handlers gathered; nothing here calls Jira or writes.

Component ids are the app's vocabulary (inbox.handlers dispatches on them): "home", "create",
"create_project:<project>", "create_submit", "link", "link_search", "pick:<site>:<issue id>", "unlink:<link id>",
"retry".
"""

from inbox import canvas as c
from inbox.fields import MAX_DROPDOWN, NONE
from inbox.models import CreateIssueForm
from inbox.selectors import LinkedIssues

# Jira's status category colours (blue-gray, blue, green) as the nearest marks a canvas text can show.
CATEGORY_MARKS = {"new": "⚪", "indeterminate": "🔵", "done": "🟢"}


def home(linked: LinkedIssues, *, heard: list[str], notice: str = "", may_create: bool = True) -> dict:
    components: list[dict] = []
    if notice:
        components.append(c.text(notice))
    if linked.problem:
        components.append(c.error_text(linked.problem))
    components.append(c.text("Linked Jira issues", style="header"))
    for issue in linked.issues:
        title = f"**[{c.escape(issue.key)}]({issue.url})** {c.escape(issue.summary)}".strip()
        mark = CATEGORY_MARKS.get(issue.status_category, "⚫")
        details = [f"{mark} {c.escape(issue.status_name or 'Status unknown')}",
                   c.escape(issue.assignee) if issue.assignee else "Unassigned"]
        if issue.link.made_by:
            details.append(f"linked by {c.escape(issue.link.made_by)}")
        components += [
            c.text(title),
            c.text(" · ".join(details), style="muted"),
            c.button(f"unlink:{issue.link.pk}", f"Unlink {issue.key}", style="link"),
        ]
    if linked.more:
        components.append(c.text(f"And {linked.more} more, on the connector's issue pages.", style="muted"))
    if not linked.issues:
        components.append(c.text("No Jira issue is linked to this conversation yet.", style="muted"))
    components.append(c.divider())
    if may_create:
        components.append(c.button("create", "Create issue"))
    components.append(c.button("link", "Link existing issue", style="secondary"))
    if heard:
        components.append(c.text(f"This conversation hears about: {', '.join(heard)}.", style="muted"))
    else:
        components.append(c.text("No notification rule applies: Jira changes are not posted here.", style="muted"))
    if linked.problem:
        components.append(c.button("home", "Retry", style="secondary"))
    return c.canvas(components)


def project_choice(projects: list) -> dict:
    """A list rather than a dropdown: a workspace may have more projects than a dropdown holds."""
    items = [c.item(f"create_project:{p.pk}", p.project_key, subtitle=p.project_name) for p in projects]
    return c.canvas([
        c.text("Create a Jira issue in which project?", style="header"),
        c.item_list(items),
        c.button("home", "Cancel", style="secondary"),
    ])


def create_form(
    form: CreateIssueForm,
    *,
    values: dict,
    errors: dict[str, str] | None = None,
    issue_types: list[tuple[str, str]] | None = None,
    message: str = "",
) -> dict:
    """The form for one project; `values` prefill it (or keep what was typed), `errors` sit under their field
    (errors for fields not on the form go to the top, named, so the teammate can tell an admin)."""
    errors = errors or {}
    project = form.project
    components = [c.text(f"Create a Jira issue in {c.escape(project.project_key)}", style="header")]
    on_form = {"summary", "description", *(f["id"] for f in form.fields)}
    if not form.issue_type_id:
        on_form.add("issuetype")
    if message:
        components.append(c.error_text(message))
    for field_id, text in errors.items():
        if field_id in on_form:
            continue
        if field_id in ("project", "issuetype"):
            components.append(c.error_text(
                f"Jira: {text} The Jira app user may not browse or create issues in {project.project_key}; a Jira "
                "admin can grant it Browse projects and Create issues."))
        else:
            components.append(c.error_text(f"{field_id}: {text} (not on this form: a connector admin can add it "
                                           "on the Inbox app page)"))

    def under(field_id: str) -> None:
        if field_id in errors:
            components.append(c.error_text(errors[field_id]))

    if not form.issue_type_id:
        components.append(c.dropdown("issuetype", "Issue type", issue_types or [], value=values.get("issuetype", "")))
        under("issuetype")
    components.append(c.input_field("summary", "Summary *", value=values.get("summary", ""),
                                    failed="summary" in errors))
    under("summary")
    components.append(c.textarea("description", "Description", value=values.get("description", ""),
                                 failed="description" in errors))
    under("description")
    for spec in form.fields:
        label = f"{spec['name']} *" if spec.get("required") else spec["name"]
        value = str(values.get(spec["id"], spec.get("default") or ""))
        choices = [(o["id"], o["name"]) for o in spec.get("options") or []]
        if not spec.get("required"):
            choices.insert(0, (NONE, "—"))
        if spec["kind"] in ("option", "options") and len(choices) <= MAX_DROPDOWN:
            components.append(c.dropdown(spec["id"], label, choices, value=value))
        elif spec["kind"] in ("option", "options"):  # too many for a dropdown: typed by name
            names = {o["id"]: o["name"] for o in spec["options"]}
            hint = f"One of {len(names)}, e.g. {', '.join(list(names.values())[:3])}"
            components.append(c.input_field(spec["id"], label, value=names.get(value, value), placeholder=hint,
                                            failed=spec["id"] in errors))
        elif spec["kind"] == "text":
            components.append(c.textarea(spec["id"], label, value=value, failed=spec["id"] in errors))
        else:
            hint = "Separate labels with spaces or commas" if spec["kind"] == "strings" else ""
            components.append(c.input_field(spec["id"], label, value=value, placeholder=hint,
                                            failed=spec["id"] in errors))
        under(spec["id"])
    components += [
        c.text("The description gets a link back to this conversation.", style="muted"),
        c.button("create_submit", "Create issue"),
        c.button("home", "Cancel", style="secondary"),
    ]
    return c.canvas(components, stored_data={"project": project.pk})


def link_search(*, query: str = "", results: list | None = None, message: str = "") -> dict:
    components = [
        c.text("Link an existing Jira issue", style="header"),
        c.input_field("query", "Issue key or words", value=query, placeholder="SUP-123 or checkout error"),
        c.button("link_search", "Search"),
    ]
    if message:
        components.append(c.error_text(message))
    if results:
        components.append(
            c.item_list(
                [
                    c.item(
                        f"pick:{issue.site.pk}:{issue.issue_id}",
                        f"{issue.issue_key} {issue.summary}"[:200],
                        subtitle=issue.status_name,
                    )
                    for issue in results
                ]
            )
        )
    elif results is not None:
        components.append(c.text("Nothing found in the connected projects the Jira app user can browse.",
                                 style="muted"))
    components.append(c.button("home", "Cancel", style="secondary"))
    return c.canvas(components)


def refused(message: str) -> dict:
    return c.canvas([c.error_text(message), c.button("home", "Back", style="secondary")])


def failure(what: str, cause: str, *, retry: dict | None = None, hint: str = "") -> dict:
    """What went wrong, why, and a retry of the same step (the request it repeats travels in stored_data)."""
    components = [c.text(f"Could not {what}", style="header"), c.error_text(cause)]
    if hint:
        components.append(c.text(hint, style="muted"))
    components += [c.button("retry", "Retry"), c.button("home", "Back", style="secondary")]
    return c.canvas(components, stored_data={"retry": retry} if retry else None)

"""The main navigation; each entry names the permission it needs, so users only see what they can use."""

from django.urls import NoReverseMatch, reverse

NAV = (
    ("Dashboard", "home", None),
    ("Connections", "connections", "manage_connections"),
    ("Inbox app", "inbox_app", "manage_connections"),
    ("Rules", "rules", "manage_rules"),
    ("Issues", "issue_search", "view_links"),
    ("Reports", "reports", "export_data"),
    ("Events", "events", "view_operations"),
    ("Deliveries", "deliveries", "view_operations"),
    ("Explain an issue", "explain", "view_operations"),
    ("Linking settings", "linking_settings", "manage_connections"),
    ("Alerts", "alerts", "manage_connections"),
    ("People", "people", "manage_people"),
    ("Audit log", "audit_log", "manage_people"),
    ("My password", "password_change", None),
    ("API tokens", "api_tokens", None),
)


def visible_items(user) -> list[dict]:
    items = []
    for label, url_name, code in NAV:
        if code and not user.has_perm(f"accounts.{code}"):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:  # a section not built yet
            continue
        items.append({"label": label, "url": url, "name": url_name})
    return items

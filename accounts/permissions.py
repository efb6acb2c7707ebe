"""The catalogue of what a user may do, modelled on Intercom's teammate permissions.

Each permission is a Django permission on accounts.Access (so `user.has_perm("accounts.<code>")` works,
superusers have all of them), grouped into sections for the people pages. Roles bundle them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    code: str
    section: str
    label: str

    @property
    def perm(self) -> str:
        return f"accounts.{self.code}"


PERMISSIONS: tuple[Permission, ...] = (
    Permission("manage_connections", "Connections", "Manage connections and secrets"),
    Permission("manage_rules", "Rules", "Manage notification rules and templates"),
    Permission("view_links", "Links", "View linked conversations"),
    Permission("change_links", "Links", "Link and unlink conversations"),
    Permission("comment_note", "Links", "Comment into conversations as an internal note"),
    Permission("reply_customer", "Links", "Send customer-visible replies"),
    Permission("export_data", "Data", "Export reports and CSV"),
    Permission("import_data", "Data", "Import links and configuration"),
    Permission("view_operations", "Operations", "View webhook events and deliveries"),
    Permission("resend", "Operations", "Resend deliveries and reprocess events"),
    Permission("manage_people", "People", "Manage users and permissions"),
)
BY_CODE = {p.code: p for p in PERMISSIONS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(p.section for p in PERMISSIONS))

# Built-in roles; admins may add their own.
BUILTIN_ROLES: dict[str, tuple[str, ...]] = {
    "Admin": tuple(p.code for p in PERMISSIONS),
    "Agent": ("view_links", "change_links", "comment_note", "view_operations"),
    "Viewer": ("view_links",),
}


def by_section() -> list[tuple[str, list[Permission]]]:
    return [(section, [p for p in PERMISSIONS if p.section == section]) for section in SECTIONS]

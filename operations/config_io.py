"""Configuration as code, whole: connections (connector.connections.config_io) plus rules, visible fields, the
count-field settings, roles and alert settings. Never a secret: no token, client secret, webhook secret or
alert webhook URL is written, and an import leaves the ones in the database alone.

Rows are matched on natural keys (a rule by its project and name, a role by name, visible fields by workspace
and entity, search settings by site), so importing the same file twice changes nothing.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Role
from accounts.permissions import BY_CODE
from accounts.services import role_save
from connector.connections.config_io import (  # noqa: F401 (the whole of configuration as code is used from here)
    FORMAT_VERSION,
    ConfigError,
    config_dump,
    config_load,
)
from connector.connections.config_io import config_export as connections_export
from connector.connections.config_io import config_import as connections_import
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from linking.models import SiteSearchSettings, VisibleFields
from notifications.models import NotificationRule, Trigger
from operations.alerts import alert_settings

RULE_FIELDS = ("position", "enabled", "stop_after", "trigger", "from_status", "to_status", "fields",
               "comment_visibility", "issue_types", "priorities", "labels", "actions", "template", "coalesce_seconds")
ALERT_FIELDS = ("enabled", "emails", "silence_hours", "failed_deliveries", "worker_check")


def _project_ref(project: ProjectConnection | None) -> dict | None:
    return {"site": project.site.base_url, "project_id": project.project_id} if project else None


def config_export() -> dict:
    data = connections_export()
    data["rules"] = [
        {"name": r.name, "project": _project_ref(r.project), **{f: getattr(r, f) for f in RULE_FIELDS}}
        for r in NotificationRule.objects.select_related("project__site").filter(detached_project_id="")
        .order_by("project_id", "position", "id")
    ]
    data["visible_fields"] = [
        {"workspace": v.workspace.workspace_id or v.workspace.name, "entity": v.entity, "fields": v.fields}
        for v in VisibleFields.objects.select_related("workspace").order_by("workspace__name", "entity")
    ]
    data["search_settings"] = [
        {"site": s.site.base_url, "count_field_id": s.count_field_id, "count_field_name": s.count_field_name,
         "replies_field_id": s.replies_field_id, "replies_field_name": s.replies_field_name}
        for s in SiteSearchSettings.objects.select_related("site").order_by("site__base_url")
    ]
    data["roles"] = [
        {"name": role.name, "permissions": sorted(p.codename for p in role.permissions.all() if p.codename in BY_CODE)}
        for role in Role.objects.order_by("name").prefetch_related("permissions")
    ]
    config = alert_settings()
    data["alerts"] = {f: getattr(config, f) for f in ALERT_FIELDS}
    return data


def _project_for(ref) -> ProjectConnection | None:
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise ConfigError(f"A rule's project must be null or {{site, project_id}}, not {ref!r}.")
    project = ProjectConnection.objects.filter(
        site__base_url=str(ref.get("site", "")).rstrip("/"), project_id=str(ref.get("project_id", ""))
    ).first()
    if project is None:
        raise ConfigError(f"A rule names the project {ref!r}, which is not connected and not in the file.")
    return project


def _rule_values(item: dict) -> dict:
    values = {f: item[f] for f in RULE_FIELDS if f in item}
    if values.get("trigger") not in Trigger.values:
        raise ConfigError(f"Rule {item.get('name')!r}: trigger must be one of {Trigger.values}.")
    for name in ("fields", "comment_visibility", "issue_types", "priorities", "labels", "actions"):
        if name in values and not isinstance(values[name], list):
            raise ConfigError(f"Rule {item.get('name')!r}: {name} must be a list.")
    return values


def _workspace_for(ref: str) -> IntercomWorkspace:
    found = (IntercomWorkspace.objects.filter(workspace_id=ref).first()
             or IntercomWorkspace.objects.filter(name=ref).first())
    if found is None:
        raise ConfigError(f"Visible fields name the workspace {ref!r}, which is not in the file or the database.")
    return found


@transaction.atomic
def config_import(data: dict, *, actor=None) -> dict[str, int]:
    """Create or update everything in `data` (in one transaction: all or nothing); counts created and updated."""
    counts = connections_import(data)

    def count(created: bool, changed: bool = True) -> None:
        counts["created" if created else "updated"] += 1 if (created or changed) else 0

    for item in data.get("rules") or []:
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"Each rule needs a name: {item!r}.")
        project = _project_for(item.get("project"))
        values = _rule_values(item)
        rule = NotificationRule.objects.filter(project=project, name=item["name"], detached_project_id="").first()
        if rule is None:
            NotificationRule.objects.create(project=project, name=item["name"], **values)
            count(True)
        else:
            changed = any(getattr(rule, k) != v for k, v in values.items())
            NotificationRule.objects.filter(pk=rule.pk).update(**values)
            count(False, changed)
    for item in data.get("visible_fields") or []:
        workspace = _workspace_for(str(item.get("workspace", "")))
        if item.get("entity") not in VisibleFields.Entity.values or not isinstance(item.get("fields"), list):
            raise ConfigError(f"Visible fields {item!r}: entity must be one of {VisibleFields.Entity.values} "
                              "and fields a list.")
        row, created = VisibleFields.objects.get_or_create(workspace=workspace, entity=item["entity"],
                                                           defaults={"fields": item["fields"]})
        if not created and row.fields != item["fields"]:
            VisibleFields.objects.filter(pk=row.pk).update(fields=item["fields"])
            count(False)
        elif created:
            count(True)
    for item in data.get("search_settings") or []:
        site = JiraSite.objects.filter(base_url=str(item.get("site", "")).rstrip("/")).first()
        if site is None:
            raise ConfigError(f"Search settings name the site {item.get('site')!r}, which is not defined.")
        values = {f: str(item.get(f) or "") for f in ("count_field_id", "count_field_name", "replies_field_id",
                                                       "replies_field_name")}
        row = SiteSearchSettings.objects.filter(site=site).first()
        changed = row is None or any(getattr(row, k) != v for k, v in values.items())
        SiteSearchSettings.objects.update_or_create(site=site, defaults=values)
        count(row is None, changed)
    for item in data.get("roles") or []:
        codes = item.get("permissions") or []
        unknown = [c for c in codes if c not in BY_CODE]
        if unknown or not item.get("name"):
            raise ConfigError(f"Role {item.get('name')!r}: unknown permission(s) {unknown} or no name.")
        role = Role.objects.filter(name=item["name"]).first()
        if role is not None and sorted(p.codename for p in role.permissions.all()) == sorted(codes):
            continue
        # role_save keeps the people rules: nobody changes a role they hold, someone keeps "manage people".
        try:
            role_save(actor=actor, name=item["name"], codes=codes, role=role)
        except ValidationError as exc:
            raise ConfigError(f"Role {item['name']!r}: {' '.join(exc.messages)}") from None
        count(role is None)
    if isinstance(data.get("alerts"), dict):
        config = alert_settings()
        values = {f: data["alerts"][f] for f in ALERT_FIELDS if f in data["alerts"]}
        changed = any(getattr(config, k) != v for k, v in values.items())
        for key, value in values.items():
            setattr(config, key, value)
        try:
            config.full_clean(exclude=["webhook_url"])
        except ValidationError as exc:
            raise ConfigError(f"Alert settings: {exc.messages}") from None
        config.save()
        count(False, changed)
    return counts

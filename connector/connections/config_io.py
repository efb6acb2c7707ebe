"""Configuration as code: connections and project connections to and from YAML or JSON, never secrets.

Rows are matched on natural keys (a site's base URL, a workspace's Intercom id or else its name, a project's
site and id), so importing the same file twice changes nothing. A connection created by an import has no
credentials yet; it is marked broken with a note saying what to enter, and the dashboard banner shows it.
"""

import json

import yaml
from django.db import transaction

from connector.connections.services import PROJECT_TOGGLES
from connector.intercom_client import api_base_url
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection
from connector.url_safety import UnsafeURL, validate_connection_url

FORMAT_VERSION = 1
SITE_FIELDS = ("name", "base_url", "deployment", "account_email")
WORKSPACE_FIELDS = ("name", "workspace_id", "region", "api_base_url", "app_admin_id", "app_admin_name")


class ConfigError(Exception):
    pass


def config_export() -> dict:
    return {
        "version": FORMAT_VERSION,
        "jira_sites": [{f: getattr(s, f) for f in SITE_FIELDS} for s in JiraSite.objects.order_by("base_url")],
        "intercom_workspaces": [
            {f: getattr(w, f) for f in WORKSPACE_FIELDS if getattr(w, f) or f != "api_base_url"}
            for w in IntercomWorkspace.objects.order_by("name")
        ],
        "project_connections": [
            {
                "site": p.site.base_url,
                "workspace": p.workspace.workspace_id or p.workspace.name,
                "project_id": p.project_id,
                "project_key": p.project_key,
                "project_name": p.project_name,
                **{t: getattr(p, t) for t in PROJECT_TOGGLES},
            }
            for p in ProjectConnection.objects.select_related("site", "workspace").order_by(
                "site__base_url", "project_key"
            )
        ],
    }


def config_dump(data: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def config_load(text: str) -> dict:
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ConfigError(f"The file is neither YAML nor JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ConfigError(f"Expected a mapping with version: {FORMAT_VERSION}.")
    return data


def _workspace_for(ref: str) -> IntercomWorkspace:
    found = (
        IntercomWorkspace.objects.filter(workspace_id=ref).first() or IntercomWorkspace.objects.filter(name=ref).first()
    )
    if found is None:
        raise ConfigError(
            f"A project connection names the workspace {ref!r}, which is not in the file or the database."
        )
    return found


def _api_host(workspace: IntercomWorkspace | dict) -> str:
    get = workspace.get if isinstance(workspace, dict) else lambda f: getattr(workspace, f)
    return api_base_url(get("region"), get("api_base_url"))


@transaction.atomic
def config_import(data: dict) -> dict[str, int]:
    """Create or update everything in `data`; returns counts of created and updated rows."""
    counts = {"created": 0, "updated": 0}
    missing = "Imported without credentials: enter them on the connection's page to finish connecting."
    moved = (
        "The imported configuration gave this workspace another region or API URL, so enter the access token "
        "again on its page: a stored token is only sent to the host it was entered for."
    )

    def upsert(model, lookup: dict, values: dict):
        row = model.objects.filter(**lookup).first()
        if row is None:
            row = model(**lookup, **values, health=Health.BROKEN, health_error=missing)
            counts["created"] += 1
        else:
            changed = any(getattr(row, k) != v for k, v in values.items())
            for k, v in values.items():
                setattr(row, k, v)
            counts["updated"] += changed
        row.save()
        return row

    for item in data.get("jira_sites") or []:
        try:
            base_url = validate_connection_url(str(item["base_url"]), require_resolvable=False)
        except (KeyError, UnsafeURL) as exc:
            raise ConfigError(f"Jira site {item!r}: {getattr(exc, 'message', 'base_url is required')}") from None
        values = {f: item.get(f, "") for f in SITE_FIELDS if f != "base_url"}
        values["deployment"] = values["deployment"] or JiraSite.Deployment.CLOUD
        values["name"] = values["name"] or base_url
        upsert(JiraSite, {"base_url": base_url}, values)
    for item in data.get("intercom_workspaces") or []:
        values = {f: str(item.get(f) or "") for f in WORKSPACE_FIELDS}
        values["region"] = values["region"] or IntercomWorkspace.Region.US
        if values["region"] not in IntercomWorkspace.Region.values:
            raise ConfigError(f"Workspace {values['name']!r}: region must be one of {IntercomWorkspace.Region.values}.")
        if values["api_base_url"]:
            try:
                values["api_base_url"] = validate_connection_url(values["api_base_url"], require_resolvable=False)
            except UnsafeURL as exc:
                raise ConfigError(f"Workspace {values['name']!r}: {exc.message}") from None
        lookup = (
            {"workspace_id": values.pop("workspace_id")} if item.get("workspace_id") else {"name": values.pop("name")}
        )
        row = IntercomWorkspace.objects.filter(**lookup).first()
        upsert(IntercomWorkspace, lookup, values)
        if row is not None and row.access_token and _api_host(row) != _api_host(values):
            # The stored token was entered for the old host; it must never be sent to the new one.
            IntercomWorkspace.objects.filter(pk=row.pk).update(
                access_token="", health=Health.BROKEN, health_error=moved
            )
    for item in data.get("project_connections") or []:
        site = JiraSite.objects.filter(base_url=str(item.get("site", "")).rstrip("/")).first()
        if site is None:
            raise ConfigError(f"A project connection names the site {item.get('site')!r}, which is not defined.")
        values = {
            "workspace": _workspace_for(str(item.get("workspace", ""))),
            "project_key": str(item.get("project_key", "")),
            "project_name": str(item.get("project_name", "")),
            **{t: bool(item[t]) for t in PROJECT_TOGGLES if t in item},
        }
        row = ProjectConnection.objects.filter(site=site, project_id=str(item["project_id"])).first()
        if row is None:
            ProjectConnection.objects.create(site=site, project_id=str(item["project_id"]), **values)
            counts["created"] += 1
        else:
            changed = any(getattr(row, k) != v for k, v in values.items())
            for k, v in values.items():
                setattr(row, k, v)
            row.save()
            counts["updated"] += changed
    return counts

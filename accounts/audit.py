"""The audit log: every administrative change, written here and nowhere else.

Callers say what changed in plain values (`before` and `after` hold only the fields that differ); secrets are
never passed in, only that they changed ("token": "changed").
"""

import csv
import ipaddress
from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import AuditEntry
from accounts.sign_in import client_address


def _label(target) -> str:
    return str(target)[:255] if target is not None else ""


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, from both sides."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys if k in before}, {k: after.get(k) for k in keys if k in after}


def _address(request) -> str | None:
    try:
        return str(ipaddress.ip_address(client_address(request) or ""))
    except ValueError:
        return None


def audit_record(*, actor, action: str, target=None, before: dict | None = None, after: dict | None = None,
                 request=None, target_type: str = "", target_id: str = "", label: str = "") -> AuditEntry:
    """Record one change. `target` is the model instance changed (its type, id and how it reads now)."""
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target=label or _label(target),
        before=before or {},
        after=after or {},
        ip_address=_address(request) if request is not None else None,
    )


def audit_filter(*, actor: str = "", action: str = "", target: str = "", since=None, until=None) -> QuerySet:
    rows = AuditEntry.objects.all()
    if actor:
        rows = rows.filter(actor_name__iexact=actor.strip())
    if action:
        rows = rows.filter(action__startswith=action.strip())
    if target:
        rows = rows.filter(target__icontains=target.strip())
    if since:
        rows = rows.filter(at__date__gte=since)
    if until:
        rows = rows.filter(at__date__lte=until)
    return rows.order_by("-at", "-pk")


def _cell(value) -> str:
    text = "" if value in (None, {}, []) else str(value)
    # A cell starting with =, +, - or @ is a formula to a spreadsheet; quote it so opening the file is safe.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def audit_csv(rows: Iterable[AuditEntry], out) -> None:
    writer = csv.writer(out)
    writer.writerow(["when (UTC)", "who", "action", "target type", "target id", "target", "before", "after", "address"])
    for e in rows:
        writer.writerow([_cell(v) for v in (
            e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.action, e.target_type, e.target_id, e.target,
            e.before, e.after, e.ip_address,
        )])

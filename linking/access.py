"""Access follows Jira: a user sees an issue's conversations only if their own Jira account may browse it.

Who signed in with Atlassian is checked with their own token (Jira answers about its caller's permissions,
which needs no admin rights); anyone else through the Jira account id an admin mapped, asked about by the app
user (on Cloud that needs Administer Jira). Cached briefly per (site, account, issue). Admins (who manage the
connections and can see everything through the app user anyway) are not asked about. Fails closed: when Jira
cannot answer, the conversations stay hidden and the page says why.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from django.core.cache import cache

from connector.errors import VendorError, VendorErrorKind
from connector.jira_client import JiraClient
from connector.models import JiraSite
from connector.user_tokens import user_client, user_token_for
from linking import jira_pace

CACHE_SECONDS = 120
LIST_BATCH = 200  # issues asked about per permission check while filtering a list
NOT_MAPPED = (
    "Your account is not mapped to a Jira account, so we cannot tell which issues you may see in Jira. "
    "Sign out and sign in with Atlassian, or ask an administrator to set your Jira account on the People page."
)

Row = TypeVar("Row")


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""


def _account_id(user) -> str:
    profile = getattr(user, "profile", None)
    try:
        return (profile.jira_account_id or "").strip() if profile else ""
    except AttributeError:
        return ""


def _has_jira_identity(user) -> bool:
    return bool(_account_id(user)) or (user.is_authenticated and user.jira_tokens.exists())


def is_access_admin(user) -> bool:
    return bool(user.is_superuser or user.has_perm("accounts.manage_connections"))


def browsable_issue_ids(user, site: JiraSite, issue_ids: list[str]) -> set[str]:
    """Which of these issues the user's Jira account may browse (all of them for admins). May raise VendorError."""
    if is_access_admin(user):
        return set(issue_ids)
    token = user_token_for(site, user)
    account = token.account_id if token else _account_id(user)
    if not account or not issue_ids:
        return set()
    allowed, unknown = set(), []
    for issue_id in issue_ids:
        cached = cache.get(_key(site, account, issue_id))
        if cached is None:
            unknown.append(issue_id)
        elif cached:
            allowed.add(issue_id)
    if unknown:
        if token is not None:  # as the person themselves: no admin rights needed
            granted = user_client(token).browsable_as_caller(unknown)
        else:
            granted = jira_pace.request_client_for(site).can_browse(account, unknown)
        for issue_id in unknown:
            cache.set(_key(site, account, issue_id), issue_id in granted, CACHE_SECONDS)
        allowed |= granted & set(unknown)
    return allowed


def unconfirmed(issue_key: str, exc: VendorError, *, own_token: bool) -> str:
    """Why Jira's answer is missing, and what to do: a refusal of the app user's check is not cured by waiting."""
    reason = f"Jira could not confirm that you may see {issue_key} ({exc})."
    if exc.kind == VendorErrorKind.AUTH and not own_token:
        return (
            f"{reason} Sign out and sign in with Atlassian, so Jira is asked with your own account; or an admin "
            "gives the app user Administer Jira, which checking other people's permissions needs on Jira Cloud."
        )
    return f"{reason} Try again later."


def issue_access(user, site: JiraSite, issue_id: str, issue_key: str) -> AccessDecision:
    if is_access_admin(user):
        return AccessDecision(True)
    if not _has_jira_identity(user):
        return AccessDecision(False, NOT_MAPPED)
    try:
        allowed = issue_id in browsable_issue_ids(user, site, [issue_id])
    except VendorError as exc:
        return AccessDecision(False, unconfirmed(issue_key, exc, own_token=user_token_for(site, user) is not None))
    if not allowed:
        return AccessDecision(
            False,
            f"Your Jira account may not browse {issue_key}, so its linked conversations are hidden from you too.",
        )
    return AccessDecision(True)


@dataclass(frozen=True)
class Refusal:
    status: int  # 403: Jira does not let the viewer see the issue; 409: the issue's project has linking off
    reason: str


def link_refusal(user, resolved, *, change: bool) -> Refusal | None:
    """Why the viewer may not act on a resolved issue's links (see them; with `change`, link to the issue), or
    None when they may. The one check the REST API and the issue page both make."""
    target, project = resolved.target, resolved.project
    decision = issue_access(user, target.site, target.issue_id, target.issue_key)
    if not decision.allowed:
        return Refusal(403, decision.reason)
    if change and not project.linking_enabled:
        return Refusal(409, f"Linking is turned off for project {project.project_key}.")
    return None


def account_may_browse(
    site: JiraSite, account_id: str, issue_id: str, *, as_viewer: JiraClient | None = None
) -> bool:
    """Whether this Jira account may see the issue. With `as_viewer` (calls made as that very user, with the
    token Forge forwards or the one they signed in with) Jira is asked about its caller's own permission, which
    needs no admin rights; without it the app user asks about the account (Cloud requires Administer Jira for
    that). Cached like the rest. May raise VendorError."""
    key = _key(site, account_id, issue_id)
    cached = cache.get(key)
    if cached is None:
        if as_viewer is not None:
            cached = as_viewer.may_browse(issue_id)
        else:
            cached = issue_id in jira_pace.request_client_for(site).can_browse(account_id, [issue_id])
        cache.set(key, cached, CACHE_SECONDS)
    return cached


def list_access_notice(user) -> str:
    """Why a list of issues is empty for this user whatever is linked, or "" when it follows their Jira account."""
    return "" if is_access_admin(user) or _has_jira_identity(user) else NOT_MAPPED


def visible_rows(
    user, rows: Iterable[Row], *, key: Callable[[Row], tuple[int, str]], limit: int | None = None
) -> list[Row]:
    """The rows, in order, whose (site id, issue id) the user may browse: the issue page's rule applied to a list.

    Jira is asked a batch at a time, so a short list of a long ranking costs few calls. May raise VendorError:
    callers show the error and no rows (fails closed).
    """
    if is_access_admin(user):
        return list(islice(rows, limit))
    if not _has_jira_identity(user):
        return []
    sites = {site.pk: site for site in JiraSite.objects.all()}
    shown: list[Row] = []
    for batch in _batches(iter(rows), LIST_BATCH):
        by_site: dict[int, list[str]] = defaultdict(list)
        for row in batch:
            site_id, issue_id = key(row)
            by_site[site_id].append(issue_id)
        allowed = {
            (site_id, issue_id)
            for site_id, ids in by_site.items()
            if site_id in sites
            for issue_id in browsable_issue_ids(user, sites[site_id], ids)
        }
        for row in batch:
            if key(row) in allowed:
                shown.append(row)
                if limit and len(shown) >= limit:
                    return shown
    return shown


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


def _key(site: JiraSite, account: str, issue_id: str) -> str:
    return f"linking:browse:{site.pk}:{account}:{issue_id}"

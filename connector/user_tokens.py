"""People's own Jira tokens (Sign in with Atlassian): kept encrypted, refreshed before they expire, and turned
into a JiraClient that calls Jira as that person."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from connector.atlassian_oauth import Identity, OAuthError, Tokens, token_refresh
from connector.errors import VendorError, VendorErrorKind
from connector.jira_client import JiraClient
from connector.models import JiraSite, JiraUserToken

REFRESH_MARGIN = timedelta(seconds=60)
SIGN_IN_AGAIN = "Your Atlassian sign-in for {site} has ended ({why}). Sign out and sign in with Atlassian again."


def user_token_store(*, site: JiraSite, user, tokens: Tokens, identity: Identity) -> JiraUserToken:
    row, _ = JiraUserToken.objects.update_or_create(
        site=site,
        user=user,
        defaults={
            "account_id": identity.account_id,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
            "api_base_url": identity.api_base_url,
        },
    )
    return row


def user_token_for(site: JiraSite, user) -> JiraUserToken | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return JiraUserToken.objects.filter(site=site, user=user).first()


def user_client(token: JiraUserToken) -> JiraClient:
    """A client acting as the token's owner, refreshing the token first when it is about to expire. Raises
    VendorError (kind AUTH) when it cannot be refreshed: the person has to sign in again."""
    if token.expires_at and token.expires_at <= timezone.now() + REFRESH_MARGIN:
        token = _refreshed(token)
    return JiraClient.as_user(
        base_url=token.api_base_url, deployment=token.site.deployment, access_token=token.access_token
    )


@transaction.atomic
def _refreshed(token: JiraUserToken) -> JiraUserToken:
    # Refresh tokens rotate: two requests refreshing at once would spend the same one; the row lock orders them.
    row = JiraUserToken.objects.select_for_update().select_related("site").get(pk=token.pk)
    if row.expires_at and row.expires_at > timezone.now() + REFRESH_MARGIN:
        return row  # another request refreshed it meanwhile
    if not row.refresh_token:
        raise VendorError(SIGN_IN_AGAIN.format(site=row.site.name, why="it expired"), kind=VendorErrorKind.AUTH)
    try:
        fresh = token_refresh(row.site, row.refresh_token)
    except OAuthError as exc:
        raise VendorError(SIGN_IN_AGAIN.format(site=row.site.name, why=exc), kind=VendorErrorKind.AUTH) from None
    row.access_token, row.expires_at = fresh.access_token, fresh.expires_at
    row.refresh_token = fresh.refresh_token or row.refresh_token
    row.save(update_fields=["access_token", "refresh_token", "expires_at", "updated_at"])
    return row

"""Sign in with Atlassian: the pages of the OAuth 2.0 authorization code flow, and each site's client settings.

/sign-in/atlassian/<site>/ starts it (state and PKCE verifier kept in the session), Atlassian (or the Data
Center site) asks the person to consent, /sign-in/atlassian/callback finishes it: the code becomes the person's
own token, their Jira identity creates or maps their local account (accounts.services), and they are signed
in. Whatever goes wrong ends on a page that says why and how to start again, with a 4xx (502 when Atlassian
could not be reached).
"""

import secrets

from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import permission_required
from accounts.audit import audit_record
from accounts.services import AccountRefused, account_for_jira_identity
from accounts.sign_in_options import SignInOption
from connector import atlassian_oauth
from connector.atlassian_oauth import OAuthError
from connector.models import JiraSite
from connector.user_tokens import user_token_store

SESSION_KEY = "atlassian_sign_in"


def sign_in_options(request) -> list[SignInOption]:
    """The sign-in page's buttons: one per Jira site with an OAuth client."""
    sites = JiraSite.objects.exclude(oauth_client_id="").order_by("name")
    return [
        SignInOption(f"Sign in with Atlassian ({site.name})", reverse("atlassian_sign_in", args=[site.pk]))
        for site in sites
        if site.atlassian_sign_in
    ]


def callback_url(request) -> str:
    return request.build_absolute_uri(reverse("atlassian_callback"))


def _refused(request, message: str, status: int):
    return render(request, "connector/atlassian_refused.html", {"message": message}, status=status)


@require_GET
def sign_in_start(request, site_id: int):
    site = get_object_or_404(JiraSite, pk=site_id)
    if not site.atlassian_sign_in:
        return _refused(request, f"{site.name} does not offer Sign in with Atlassian. Sign in with your password, "
                                 "or ask an administrator to set it up.", 404)
    verifier, challenge = atlassian_oauth.pkce_pair()
    state = secrets.token_urlsafe(32)
    wanted = request.GET.get("next") or ""
    host, secure = {request.get_host()}, request.is_secure()
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts=host, require_https=secure)
    request.session[SESSION_KEY] = {"state": state, "site": site.pk, "verifier": verifier,
                                    "next": wanted if safe else ""}
    return redirect(atlassian_oauth.authorize_url(
        site, redirect_uri=callback_url(request), state=state, code_challenge=challenge))


@require_GET
def sign_in_callback(request):
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state") or ""
    if not isinstance(pending, dict) or not state or not secrets.compare_digest(state, str(pending.get("state"))):
        return _refused(request, "This sign-in answer does not belong to a sign-in started in this browser (or it was "
                                 "used already), so it was ignored. Start again from the sign-in page.", 400)
    error = request.GET.get("error")
    if error == "access_denied":
        return _refused(request, "You declined to share your Jira account with this service, so you are not signed "
                                 "in. To sign in, start again and accept.", 403)
    if error:
        description = (request.GET.get("error_description") or "")[:300]
        return _refused(request, f"Atlassian could not sign you in ({error[:60]}{': ' if description else ''}"
                                 f"{description}). Start again from the sign-in page.", 400)
    site = JiraSite.objects.filter(pk=pending.get("site")).first()
    code = request.GET.get("code") or ""
    if site is None or not site.atlassian_sign_in or not code:
        return _refused(request, "The sign-in answer carried no code, or its Jira site is no longer set up for "
                                 "Sign in with Atlassian. Start again from the sign-in page.", 400)
    try:
        tokens = atlassian_oauth.code_exchange(
            site, code=code, redirect_uri=callback_url(request), code_verifier=str(pending.get("verifier")))
        identity = atlassian_oauth.identity(site, tokens.access_token)
        with transaction.atomic():
            user = account_for_jira_identity(account_id=identity.account_id, email=identity.email,
                                             name=identity.name, current_user=request.user)
            user_token_store(site=site, user=user, tokens=tokens, identity=identity)
    except OAuthError as exc:
        return _refused(request, str(exc), exc.status)
    except AccountRefused as exc:
        return _refused(request, str(exc), 403)
    if request.user != user:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Signed in with Atlassian as {identity.name or identity.email or user.username}.")
    return redirect(pending.get("next") or "home")


@permission_required("manage_connections")
@require_http_methods(["GET", "POST"])
def site_sign_in_settings(request, pk: int):
    """The OAuth client of one site: its id, and its secret (write-only: blank keeps the stored one)."""
    site = get_object_or_404(JiraSite, pk=pk)
    if request.method == "POST":
        client_id = (request.POST.get("client_id") or "").strip()[:255]
        secret = (request.POST.get("client_secret") or "").strip()
        site.oauth_client_id = client_id
        if secret:
            site.oauth_client_secret = secret[:1000]
        if not client_id:
            site.oauth_client_secret = ""
        site.save(update_fields=["oauth_client_id", "oauth_client_secret", "updated_at"])
        audit_record(actor=request.user, action="jira_site.sign_in", target=site, request=request,
                     after={"client_id": client_id, **({"client_secret": "changed"} if secret else {})})
        messages.success(request, "Saved. The sign-in page offers Sign in with Atlassian for this site."
                         if site.atlassian_sign_in else "Saved. Sign in with Atlassian is off for this site.")
        return redirect("jira_site_sign_in", pk=site.pk)
    return render(request, "connector/jira_site_sign_in.html", {"site": site, "callback_url": callback_url(request)})

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.access import permission_required
from accounts.forms import (
    ApiTokenForm,
    BulkPermissionsForm,
    JiraAccountForm,
    LoginUnlockForm,
    RoleForm,
    SignInForm,
    SignInPolicyForm,
    UserCreateForm,
)
from accounts.models import ApiToken, Profile, Role
from accounts.permissions import PERMISSIONS, by_section
from accounts.sign_in_options import sign_in_options

User = get_user_model()


def _effective_codes(user) -> set[str]:
    return {p.code for p in PERMISSIONS if user.has_perm(p.perm)}


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def people(request):
    form = BulkPermissionsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        users = list(form.cleaned_data["users"])
        try:
            if form.cleaned_data["role"]:
                services.people_assign_role(
                    actor=request.user, users=users, role=form.cleaned_data["role"], request=request
                )
            else:
                services.people_set_permissions(
                    actor=request.user,
                    users=users,
                    grant=form.cleaned_data["grant"],
                    revoke=form.cleaned_data["revoke"],
                    request=request,
                )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Updated the permissions of {len(users)} user(s).")
            return redirect("people")
    rows = [
        {"user": u, "role": next(iter(u.groups.all()), None), "codes": _effective_codes(u)}
        for u in User.objects.order_by("username").prefetch_related("groups").select_related("profile")
    ]
    return render(
        request,
        "accounts/people.html",
        {
            "form": form,
            "rows": rows,
            "sections": by_section(),
            "permissions": PERMISSIONS,
            "roles": Role.objects.order_by("name").prefetch_related("permissions"),
            "lockouts": selectors.login_lockout_list(),
        },
    )


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_create(
            username=data["username"], email=data["email"], role=data["role"], password=data["password"],
            jira_account_id=data["jira_account_id"], actor=request.user, request=request,
        )
        messages.success(request, f"Created {user.username}.")
        return redirect("people")
    return render(request, "accounts/user_form.html", {"form": form})


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def role_edit(request, pk: int | None = None):
    role = get_object_or_404(Role, pk=pk) if pk else None
    initial = (
        {"name": role.name, "permissions": list(role.permissions.values_list("codename", flat=True))} if role else None
    )
    form = RoleForm(request.POST or None, initial=initial, role=role)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_save(
                actor=request.user, name=form.cleaned_data["name"], codes=form.cleaned_data["permissions"], role=role,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved role {form.cleaned_data['name']}.")
            return redirect("people")
    holds_role = role is not None and request.user.groups.filter(pk=role.pk).exists()
    return render(request, "accounts/role_form.html", {"form": form, "role": role, "holds_role": holds_role})


@permission_required("manage_people")
@require_POST
def login_unlock(request):
    form = LoginUnlockForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(f"Cannot unlock: {form.errors.as_text()}", content_type="text/plain")
    username, address = form.cleaned_data["username"], form.cleaned_data["ip_address"]
    services.login_unlock(username=username, ip_address=address, actor=request.user, request=request)
    messages.success(request, f"{username} can sign in again{f' from {address}' if address else ''}.")
    return redirect("people")


class PasswordChange(SuccessMessageMixin, PasswordChangeView):
    """Every signed-in user changes their own password here; Django's form applies the validators and keeps
    the session signed in (other sessions of the user end)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")
    success_message = "Your password is changed."


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """The user's own API tokens; a new one is shown on this page once, right after it is made."""
    form = ApiTokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        row, token = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
        created = {"row": row, "token": token}
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "created": created})


@login_required
@require_http_methods(["POST"])
def api_token_revoke(request, pk: int):
    try:
        row = services.api_token_revoke(user=request.user, token_id=pk)
    except ApiToken.DoesNotExist:
        raise Http404("No such token of yours.") from None
    messages.success(request, f"Revoked the token “{row.name}” ({row.prefix}…). Scripts using it now get 401.")
    return redirect("api_tokens")


class SignIn(LoginView):
    """Password sign-in, with the other ways to sign in (Sign in with Atlassian per Jira site) beside it."""

    template_name = "accounts/login.html"
    authentication_form = SignInForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "sign_in_options": sign_in_options(self.request)}


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def user_jira_account(request, pk: int):
    """Map a user to their Jira account by hand (Sign in with Atlassian does it by itself)."""
    person = get_object_or_404(User, pk=pk)
    current = Profile.objects.filter(user=person).values_list("jira_account_id", flat=True).first() or ""
    form = JiraAccountForm(request.POST or None, initial={"jira_account_id": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_jira_account_set(
                user=person, account_id=form.cleaned_data["jira_account_id"], actor=request.user, request=request
            )
        except ValidationError as exc:
            form.add_error("jira_account_id", exc)
        else:
            messages.success(request, f"Saved the Jira account of {person.username}.")
            return redirect("people")
    return render(request, "accounts/jira_account_form.html", {"form": form, "person": person})


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def sign_in_policy(request):
    policy = services.sign_in_policy()
    initial = {"atlassian_required": policy.atlassian_required, "create_accounts": policy.create_accounts,
               "new_account_role": policy.new_account_role}
    form = SignInPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.sign_in_policy_update(actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, "Saved the sign-in policy.")
        return redirect("sign_in_policy")
    return render(request, "accounts/sign_in_policy.html", {"form": form, "options": sign_in_options(request)})

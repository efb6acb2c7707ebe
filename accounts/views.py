from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.access import permission_required
from accounts.audit import audit_csv, audit_filter, audit_record
from accounts.forms import (
    ApiTokenForm,
    AuditFilterForm,
    BulkPermissionsForm,
    JiraAccountForm,
    LoginUnlockForm,
    PasswordResetForm,
    PersonAccessForm,
    PersonForm,
    RoleForm,
    SignInForm,
    SignInPolicyForm,
    UserCreateForm,
)
from accounts.models import ApiToken, AuditEntry, Profile, Role
from accounts.permissions import BY_CODE, PERMISSIONS, by_section
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
        if not request.POST.get("confirm"):
            # First the list of people the change applies to, and the change in words; then apply.
            return render(request, "accounts/people_confirm.html", {
                "form": form, "users": users, "role": form.cleaned_data["role"],
                "grant": [BY_CODE[c] for c in form.cleaned_data["grant"]],
                "revoke": [BY_CODE[c] for c in form.cleaned_data["revoke"]],
                "includes_you": any(u.pk == request.user.pk for u in users),
            })
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

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(actor=self.request.user, action="person.password_change", target=self.request.user,
                     after={"password": "changed"}, request=self.request)
        return response


def _access_initial(person) -> dict:
    role = person.groups.first()
    return {"role": role, "permissions": services.user_codes(person)}


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def person(request, pk: int):
    """One person: details, access as toggles by section, deactivate, reset password, sign-in history."""
    person = get_object_or_404(User, pk=pk)
    profile = Profile.objects.filter(user=person).first()
    details = PersonForm(initial={"email": person.email, "jira_account_id": profile.jira_account_id if profile else ""})
    access = PersonAccessForm(initial=_access_initial(person))
    password = PasswordResetForm()
    is_you = person.pk == request.user.pk
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "details":
                details = PersonForm(request.POST)
                if details.is_valid():
                    services.user_update(actor=request.user, user=person, request=request, **details.cleaned_data)
                    messages.success(request, f"Saved {person.username}'s details.")
                    return redirect("person", pk=pk)
            elif op == "access":
                access = PersonAccessForm(request.POST)
                if access.is_valid():
                    _access_save(request, person, access.cleaned_data)
                    messages.success(request, f"Saved {person.username}'s permissions.")
                    return redirect("person", pk=pk)
            elif op in ("deactivate", "activate"):
                services.user_set_active(actor=request.user, user=person, active=op == "activate", request=request)
                state = "active again" if op == "activate" else "deactivated"
                messages.success(request, f"{person.username} is {state}.")
                return redirect("person", pk=pk)
            elif op == "password":
                password = PasswordResetForm(request.POST)
                if password.is_valid():
                    services.user_set_password(actor=request.user, user=person, request=request,
                                               password=password.cleaned_data["password"])
                    messages.success(request, f"{person.username}'s password is set; their other sessions ended.")
                    return redirect("person", pk=pk)
            else:
                return HttpResponseBadRequest("Unknown change.", content_type="text/plain")
        except ValidationError as exc:
            target = {"access": access, "password": password, "details": details}.get(op)
            if target is None or not target.is_bound:  # deactivate/activate: no form to show it on
                messages.error(request, " ".join(exc.messages))
                return redirect("person", pk=pk)
            target.add_error(None, exc)
    history = AuditEntry.objects.filter(target_type="user", target_id=str(person.pk))
    return render(request, "accounts/person.html", {
        "person": person, "is_you": is_you, "details": details, "access": access, "password": password,
        "sections": by_section(), "held": set(services.user_codes(person)),
        "role": person.groups.first(),
        "sign_ins": history.filter(action="person.sign_in")[:10],
        "changes": history.exclude(action="person.sign_in")[:20],
    })


def _access_save(request, person, data) -> None:
    if data["role"]:
        services.people_assign_role(actor=request.user, users=[person], role=data["role"], request=request)
        return
    chosen = set(data["permissions"])
    services.people_set_permissions(actor=request.user, users=[person], grant=chosen,
                                    revoke=set(BY_CODE) - chosen, request=request)


@permission_required("manage_people")
def audit_log(request):
    """Every administrative change, newest first; filters; the same rows as CSV with ?format=csv."""
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = audit_filter(**{k: v for k, v in data.items() if v})
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        audit_csv(rows.iterator(), response)
        return response
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "accounts/audit_log.html", {"form": form, "page": page, "query": query.urlencode()})


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

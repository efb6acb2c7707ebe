from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.access import permission_required
from accounts.forms import ApiTokenForm, BulkPermissionsForm, RoleForm, UserCreateForm
from accounts.models import ApiToken, Profile, Role
from accounts.permissions import PERMISSIONS, by_section

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
                services.people_assign_role(actor=request.user, users=users, role=form.cleaned_data["role"])
            else:
                services.people_set_permissions(
                    actor=request.user,
                    users=users,
                    grant=form.cleaned_data["grant"],
                    revoke=form.cleaned_data["revoke"],
                )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Updated the permissions of {len(users)} user(s).")
            return redirect("people")
    rows = [
        {"user": u, "role": next(iter(u.groups.all()), None), "codes": _effective_codes(u)}
        for u in User.objects.order_by("username").prefetch_related("groups")
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
        },
    )


@permission_required("manage_people")
@require_http_methods(["GET", "POST"])
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_create(
            username=data["username"], email=data["email"], role=data["role"], password=data["password"]
        )
        Profile.objects.create(user=user, jira_account_id=data["jira_account_id"])
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
    form = RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_save(name=form.cleaned_data["name"], codes=form.cleaned_data["permissions"], role=role)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved role {form.cleaned_data['name']}.")
            return redirect("people")
    return render(request, "accounts/role_form.html", {"form": form, "role": role})


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

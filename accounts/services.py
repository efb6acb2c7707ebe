import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as DjangoPermission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_record, changes
from accounts.models import ApiToken, Profile, Role, SignInPolicy
from accounts.permissions import BUILTIN_ROLES, BY_CODE

User = get_user_model()


def _django_permissions(codes: Iterable[str]):
    codes = list(codes)
    unknown = [c for c in codes if c not in BY_CODE]
    if unknown:
        raise ValidationError(f"Unknown permission: {', '.join(unknown)}")
    return DjangoPermission.objects.filter(content_type__app_label="accounts", codename__in=codes)


def role_ensure_builtin() -> None:
    """Create the built-in roles once; an admin's later edits to them are kept."""
    for name, codes in BUILTIN_ROLES.items():
        role, created = Role.objects.get_or_create(name=name)
        if created:
            role.permissions.set(_django_permissions(codes))


def users_with_permission(code: str):
    """Active users who hold `code`, through their role, their own permissions, or superuser status."""
    perm = Q(content_type__app_label="accounts", codename=code)
    holders = DjangoPermission.objects.filter(perm)
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(user_permissions__in=holders) | Q(groups__permissions__in=holders))
        .distinct()
    )


def _guard(actor, users) -> None:
    if any(u.pk == actor.pk for u in users):
        raise ValidationError("Nobody can change their own permissions; ask another admin.")


def _keep_an_admin() -> None:
    if not users_with_permission("manage_people").exists():
        raise ValidationError(
            "This change would leave nobody who can manage people. Keep at least one user with that permission."
        )


def user_codes(user) -> list[str]:
    """The connector permissions a user holds now (through the role, their own, or as superuser)."""
    return sorted(p.code for p in BY_CODE.values() if user.has_perm(p.perm))


def _access_of(user) -> dict:
    fresh = User.objects.get(pk=user.pk)  # has_perm caches; read what was just written
    return {"role": next(iter(fresh.groups.values_list("name", flat=True)), None), "permissions": user_codes(fresh)}


@transaction.atomic
def people_assign_role(*, actor, users: list, role: Role, request=None) -> None:
    _guard(actor, users)
    for user in users:
        before = _access_of(user)
        user.groups.set([role])
        user.user_permissions.clear()
        audit_record(actor=actor, action="person.access", target=user, before=before, after=_access_of(user),
                     request=request)
    _keep_an_admin()


@transaction.atomic
def people_set_permissions(
    *, actor, users: list, grant: Iterable[str] = (), revoke: Iterable[str] = (), request=None
) -> None:
    """Give users custom permissions: each keeps what they had, plus `grant`, minus `revoke`; no role."""
    grant, revoke = set(grant), set(revoke)
    if grant & revoke:
        raise ValidationError("A permission cannot be both granted and revoked.")
    _guard(actor, users)
    grant_perms = list(_django_permissions(grant))
    for user in users:
        current = {
            p
            for p in DjangoPermission.objects.filter(
                Q(user=user) | Q(group__user=user), content_type__app_label="accounts"
            )
        }
        keep = {p for p in current if p.codename not in revoke}
        before = _access_of(user)
        user.groups.clear()
        user.user_permissions.set(keep | set(grant_perms))
        audit_record(actor=actor, action="person.access", target=user, before=before, after=_access_of(user),
                     request=request)
    _keep_an_admin()


@transaction.atomic
def role_save(*, actor, name: str, codes: Iterable[str], role: Role | None = None, request=None) -> Role:
    """Create or edit a role; every user with the role gets the new permissions at once.

    The people page's rules hold here too: editing the permissions of a role you hold would change your own,
    and someone must still be able to manage people afterwards."""
    new_permissions = set(_django_permissions(codes))
    holds = actor is not None and actor.groups.filter(pk=role.pk).exists() if role is not None else False
    if role is not None and set(role.permissions.all()) != new_permissions and holds:
        raise ValidationError(
            f"Nobody can change their own permissions, and you hold the role {role.name}; "
            "ask another user who can manage people to change it."
        )
    before = {"name": role.name, "permissions": sorted(p.codename for p in role.permissions.all())} if role else {}
    role = role or Role(name=name)
    role.name = name
    role.save()
    role.permissions.set(new_permissions)
    _keep_an_admin()
    after = {"name": role.name, "permissions": sorted(p.codename for p in new_permissions)}
    audit_record(actor=actor, action="role.update" if before else "role.create", target=role,
                 before=before, after=after, request=request)
    return role


@transaction.atomic
def user_create(*, username: str, email: str = "", role: Role | None = None, password: str | None = None,
                jira_account_id: str = "", actor=None, request=None):
    """A new user; `password` must pass AUTH_PASSWORD_VALIDATORS (None: the user cannot sign in yet)."""
    if password is not None:
        validate_password(password, User(username=username, email=email))
    user = User.objects.create_user(username=username, email=email, password=password)
    if role is not None:
        user.groups.set([role])
    Profile.objects.create(user=user, jira_account_id=jira_account_id)
    audit_record(actor=actor, action="person.create", target=user, request=request, after={
        "email": email, "role": role.name if role else None, "jira_account_id": jira_account_id,
    })
    return user


@transaction.atomic
def user_update(*, actor, user, email: str, jira_account_id: str, request=None) -> None:
    """Email and Jira account; a change of the Jira account changes what the person may see in Jira's name."""
    user_jira_account_set(user=user, account_id=jira_account_id, actor=actor, request=request)
    if user.email != email:
        before = {"email": user.email}
        user.email = email
        user.save(update_fields=["email"])
        audit_record(actor=actor, action="person.update", target=user, before=before, after={"email": email},
                     request=request)


@transaction.atomic
def user_set_active(*, actor, user, active: bool, request=None) -> None:
    """Deactivate (the person can no longer sign in, their API tokens stop working) or reactivate."""
    if user.pk == actor.pk and not active:
        raise ValidationError("You cannot deactivate yourself; ask another admin.")
    if user.is_active == active:
        return
    user.is_active = active
    user.save(update_fields=["is_active"])
    _keep_an_admin()
    audit_record(actor=actor, action="person.activate" if active else "person.deactivate", target=user,
                 before={"active": not active}, after={"active": active}, request=request)


@transaction.atomic
def user_set_password(*, actor, user, password: str, request=None) -> None:
    """An admin resets someone's password (validators apply); the person's sessions end."""
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    # The password itself is never recorded, only that it was set and by whom.
    audit_record(actor=actor, action="person.password_reset", target=user, after={"password": "changed"},
                 request=request)


def login_unlock(*, username: str, ip_address: str = "", actor=None, request=None) -> int:
    """Lift a sign-in lock of `username` (from one address, or from all); returns how many were lifted."""
    if not username:
        raise ValidationError("Name the account to unlock.")  # axes would reset every account without one
    lifted = axes_reset(username=username, ip=ip_address or None)
    audit_record(actor=actor, action="person.unlock", target_type="user", label=username,
                 after={"username": username, "address": ip_address or "any"}, request=request)
    return lifted
API_TOKEN_PREFIX = "jic_"  # noqa: S105 (recognisable in logs and by secret scanners)
API_TOKEN_VISIBLE = 12  # characters kept in clear (the prefix and a few random ones) to tell tokens apart
# Recording every use would turn each API read into a write; to the minute is precise enough for an audit.
API_TOKEN_TOUCH_SECONDS = 60


def api_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; the clear token is returned once and never stored."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name.strip(), prefix=token[:API_TOKEN_VISIBLE], digest=api_token_digest(token)
    )
    return row, token


def api_token_revoke(*, user, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (ApiToken.DoesNotExist for anyone else's); revoking twice is fine."""
    row = ApiToken.objects.get(pk=token_id, user=user)
    if row.revoked_at is None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
    return row


def api_token_touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(seconds=API_TOKEN_TOUCH_SECONDS):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- Sign in with Atlassian ---------------------------------------------------------------------------------


class AccountRefused(Exception):
    """No account may be used for this Jira identity; the message says why and what to do."""


def is_admin(user) -> bool:
    """Who may still sign in with a password when Atlassian sign-in is required."""
    return bool(
        user.is_superuser or user.has_perm("accounts.manage_people") or user.has_perm("accounts.manage_connections")
    )


def sign_in_policy() -> SignInPolicy:
    policy, _ = SignInPolicy.objects.get_or_create(pk=1, defaults={"new_account_role": Role.objects.filter(
        name="Viewer").first()})
    return policy


def _policy_values(policy: SignInPolicy) -> dict:
    role = policy.new_account_role
    return {"atlassian_required": policy.atlassian_required, "create_accounts": policy.create_accounts,
            "new_account_role": role.name if role else None}


@transaction.atomic
def sign_in_policy_update(
    *, actor, atlassian_required: bool, create_accounts: bool, new_account_role: Role | None, request=None
) -> SignInPolicy:
    policy = sign_in_policy()
    before = _policy_values(policy)
    policy.atlassian_required, policy.create_accounts = atlassian_required, create_accounts
    policy.new_account_role = new_account_role
    policy.save()
    old, new = changes(before, _policy_values(policy))
    if old or new:
        audit_record(actor=actor, action="sign_in.policy", target=policy, before=old, after=new, request=request)
    return policy


def password_sign_in_allowed(user) -> bool:
    return is_admin(user) or not sign_in_policy().atlassian_required


def _holder(account_id: str, *, other_than=None):
    holders = User.objects.filter(profile__jira_account_id=account_id)
    if other_than is not None:
        holders = holders.exclude(pk=other_than.pk)
    return holders.order_by("pk").first()


@transaction.atomic
def user_jira_account_set(*, user, account_id: str, actor=None, request=None) -> None:
    """Map a user to their Jira account (by an admin on the People page, or by their own Atlassian sign-in)."""
    account_id = account_id.strip()
    if account_id:
        holder = _holder(account_id, other_than=user)
        if holder is not None:
            raise ValidationError(f"The Jira account {account_id} is already mapped to {holder.username}.")
    profile, _ = Profile.objects.get_or_create(user=user)
    if profile.jira_account_id == account_id:
        return
    before = {"jira_account_id": profile.jira_account_id}
    profile.jira_account_id = account_id
    profile.save(update_fields=["jira_account_id"])
    audit_record(actor=actor, action="person.update", target=user, before=before,
                 after={"jira_account_id": account_id}, request=request)


def _free_username(email: str, name: str) -> str:
    base = (email.split("@")[0] if email else "") or "-".join(name.lower().split()) or "jira-user"
    base = "".join(c for c in base if c.isalnum() or c in "._-+")[:140] or "jira-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


@transaction.atomic
def account_for_jira_identity(*, account_id: str, email: str = "", name: str = "", current_user=None):
    """The local account of someone who signed in with Atlassian as `account_id`.

    Someone already signed in maps their own account; otherwise the account mapped to that Jira account is
    used, or (when the policy allows) a new one is made with the policy's role. Accounts are never matched by
    email: whoever controls an email address in Jira must not get a local account that merely shares it.
    """
    if not account_id:
        raise AccountRefused("Jira did not say which account signed in. Try again.")
    if current_user is not None and current_user.is_authenticated:
        try:
            user_jira_account_set(user=current_user, account_id=account_id, actor=current_user)
        except ValidationError as exc:
            raise AccountRefused(f"{exc.messages[0]} Ask an administrator to fix the mapping.") from None
        return current_user
    user = _holder(account_id)
    if user is not None:
        if not user.is_active:
            raise AccountRefused(f"The account {user.username} is deactivated. Ask an administrator.")
        return user
    policy = sign_in_policy()
    if not policy.create_accounts:
        raise AccountRefused(
            "No account of this service is mapped to your Jira account. Ask an administrator to create one on "
            f"the People page with your Jira account id: {account_id}."
        )
    user = User.objects.create_user(username=_free_username(email, name), email=email, password=None)
    if policy.new_account_role is not None:
        user.groups.set([policy.new_account_role])
    Profile.objects.create(user=user, jira_account_id=account_id)
    audit_record(actor=None, action="person.create", target=user, label=user.username, after={
        "email": email, "role": policy.new_account_role.name if policy.new_account_role else None,
        "jira_account_id": account_id, "by": "Sign in with Atlassian",
    })
    return user

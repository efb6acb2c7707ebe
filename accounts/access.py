"""Permission checks for views and API endpoints, with a refusal that says what is missing."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from rest_framework.permissions import BasePermission

from accounts.permissions import BY_CODE
from accounts.services import users_with_permission


def refusal_context(code: str) -> dict:
    perm = BY_CODE[code]
    granters = users_with_permission("manage_people").order_by("username")[:5]
    return {"permission": perm, "granters": granters}


def permission_required(code: str):
    """View decorator: log in first, then require accounts.<code>; a refusal names the permission."""
    if code not in BY_CODE:
        raise ValueError(f"unknown permission {code}")

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(f"accounts.{code}"):
                return render(request, "accounts/refused.html", refusal_context(code), status=403)
            return view(request, *args, **kwargs)

        wrapper.required_permission = code
        return wrapper

    return decorator


def HasPermission(code: str) -> type[BasePermission]:
    """DRF permission class factory: `permission_classes = [HasPermission("manage_connections")]`."""
    if code not in BY_CODE:
        raise ValueError(f"unknown permission {code}")

    class _HasPermission(BasePermission):
        message = f"You need the permission “{BY_CODE[code].label}”. Ask a user who can manage people."

        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated and request.user.has_perm(f"accounts.{code}"))

    _HasPermission.__name__ = f"HasPermission_{code}"
    return _HasPermission

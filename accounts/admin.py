from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from accounts.models import Profile

# The Django admin shows raw data; only superusers may use it.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser
admin.site.site_header = "Jira ↔ Intercom connector — raw data"

admin.site.register(Profile)

# Roles are edited on the people page, where nobody changes their own permissions and someone always keeps
# "Manage users and permissions"; the raw Group editor would bypass both rules.
admin.site.unregister(Group)


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class GuardedUserAdmin(UserAdmin):
    """Django's user admin, except that nobody edits their own permissions here either."""

    SELF_READONLY = ("is_superuser", "is_staff", "is_active", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.pk == request.user.pk:
            return (*fields, *self.SELF_READONLY)
        return fields

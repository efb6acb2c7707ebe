from django.contrib import admin

from accounts.models import Profile

# The Django admin shows raw data; only superusers may use it.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser
admin.site.site_header = "Jira ↔ Intercom connector — raw data"

admin.site.register(Profile)

"""The home page: where a signed-in person lands, the dashboard (operations); the 404 page."""

from django.http import JsonResponse
from django.views import defaults

from operations.views import dashboard as home  # noqa: F401 (config/urls.py routes "" here)


def not_found(request, exception=None):
    """A URL no route matches: JSON under /api/ (a script reads it; the schema promises JSON), HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found: no such API endpoint or object. The paths are in /api/schema/."},
                            status=404)
    return defaults.page_not_found(request, exception)

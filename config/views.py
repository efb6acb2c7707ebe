"""The home page: where a signed-in person lands, with what needs attention; the 404 page."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from connector.selectors import connection_problems


@login_required
def home(request):
    return render(request, "home.html", {"problems": connection_problems()})


def not_found(request, exception=None):
    """A URL no route matches: JSON under /api/ (a script reads it; the schema promises JSON), HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found: no such API endpoint or object. The paths are in /api/schema/."},
                            status=404)
    return defaults.page_not_found(request, exception)

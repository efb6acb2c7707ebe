"""The project's URLs plus a stand-in `issue_comment` route, for testing the comment form on its own."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("test-only/issues/<str:key>/comment", lambda request, key: HttpResponse("ok"), name="issue_comment"),
]

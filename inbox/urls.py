from django.urls import path

from inbox import admin_views, views

urlpatterns = [
    path("inbox/<uuid:public_id>/initialize", views.initialize, name="inbox_initialize"),
    path("inbox/<uuid:public_id>/submit", views.submit, name="inbox_submit"),
    path("inbox-app/", admin_views.inbox_app, name="inbox_app"),
    path("inbox-app/projects/<int:pk>/", admin_views.inbox_form_edit, name="inbox_form_edit"),
]

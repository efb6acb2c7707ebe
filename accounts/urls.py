from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.SignIn.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.PasswordChange.as_view(), name="password_change"),
    path("people/", views.people, name="people"),
    path("people/new/", views.user_create, name="user_create"),
    path("people/<int:pk>/", views.person, name="person"),
    path("audit/", views.audit_log, name="audit_log"),
    path("people/unlock/", views.login_unlock, name="login_unlock"),
    path("people/sign-in/", views.sign_in_policy, name="sign_in_policy"),
    path("people/<int:pk>/jira-account/", views.user_jira_account, name="user_jira_account"),
    path("people/roles/new/", views.role_edit, name="role_create"),
    path("people/roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("account/api-tokens/", views.api_tokens, name="api_tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]

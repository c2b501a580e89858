from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from apps.api import pages
from apps.api.rest import operator

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("apps.api.rest.urls")),
    path("chat/", pages.chat_page, name="chat"),
    path("chat/token", pages.chat_token, name="chat-token"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/set_password.html", post_reset_login=True, success_url=reverse_lazy("chat")
        ),
        name="set-password",
    ),
    path("health", operator.health, name="health"),
    path("ready", operator.ready, name="ready"),
    path("metrics", operator.metrics_view, name="metrics"),
    path("api/schema/", operator.openapi_schema, name="openapi-schema"),
]

handler404 = "apps.api.rest.operator.not_found"
handler500 = "apps.api.rest.operator.server_error"

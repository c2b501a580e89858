from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.api import pages
from apps.api.rest import operator

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("apps.api.rest.urls")),
    path("chat/", pages.chat_page, name="chat"),
    path("chat/token", pages.chat_token, name="chat-token"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("health", operator.health, name="health"),
    path("ready", operator.ready, name="ready"),
    path("metrics", operator.metrics_view, name="metrics"),
    path("api/schema/", operator.openapi_schema, name="openapi-schema"),
]

handler404 = "apps.api.rest.operator.not_found"
handler500 = "apps.api.rest.operator.server_error"

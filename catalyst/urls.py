from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.chat import views as chat_views
from apps.core import views as core_views
from apps.observability import views as observability_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("apps.chat.api_urls")),
    path("v1/", include("apps.gateway.urls")),
    path("chat/", chat_views.chat_page, name="chat"),
    path("chat/token", chat_views.chat_token, name="chat-token"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("health", core_views.health, name="health"),
    path("ready", observability_views.ready, name="ready"),
    path("metrics", observability_views.metrics_view, name="metrics"),
    path("api/schema/", core_views.openapi_schema, name="openapi-schema"),
]

handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"

from django.contrib import admin
from django.urls import include, path

from apps.core import views as core_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("apps.gateway.urls")),
    path("health", core_views.health, name="health"),
    path("api/schema/", core_views.openapi_schema, name="openapi-schema"),
]

handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"

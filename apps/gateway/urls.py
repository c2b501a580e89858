from django.urls import path, re_path

from . import views

app_name = "gateway"

urlpatterns = [
    path("me", views.me, name="me"),
    re_path(r"^.*$", views.unknown_route),
]

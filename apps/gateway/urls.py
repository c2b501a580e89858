from django.urls import path, re_path

from . import views

app_name = "gateway"

urlpatterns = [
    path("me", views.me, name="me"),
    path("chat/completions", views.chat_completions, name="chat-completions"),
    path("models", views.models, name="models"),
    path("messages", views.messages, name="messages"),
    path("embeddings", views.embeddings_view, name="embeddings"),
    path("generate", views.generate_view, name="generate"),
    path("usage", views.usage, name="usage"),
    re_path(r"^.*$", views.unknown_route),
]

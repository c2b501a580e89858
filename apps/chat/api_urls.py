from django.urls import path

from . import views

app_name = "chat-api"

urlpatterns = [
    path("conversations", views.conversation_list, name="conversations"),
    path("conversations/<int:conversation_id>", views.conversation_detail, name="conversation"),
    path("conversations/<int:conversation_id>/messages", views.conversation_messages, name="messages"),
]

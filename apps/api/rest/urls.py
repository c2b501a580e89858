from django.urls import path, re_path

from . import account, conversations, files, generation, guardrails, responses_api, tools, vector_stores

app_name = "api"

urlpatterns = [
    path("me", account.me, name="me"),
    path("models", account.models, name="models"),
    path("models/<path:model_id>", account.model, name="model"),
    path("usage", account.usage, name="usage"),
    path("chat/completions", generation.chat_completions, name="chat-completions"),
    path("messages", generation.messages, name="messages"),
    path("messages/count_tokens", generation.count_tokens, name="count-tokens"),
    path("completions", generation.legacy_completions, name="completions"),
    path("responses", responses_api.create, name="responses"),
    path("responses/<str:response_id>", responses_api.detail, name="response"),
    path("embeddings", generation.embeddings_view, name="embeddings"),
    path("generate", generation.generate_view, name="generate"),
    path("guardrails/check", guardrails.check, name="guardrails-check"),
    path("files", files.file_list, name="files"),
    path("files/<str:file_id>", files.file_detail, name="file"),
    path("files/<str:file_id>/content", files.file_content, name="file-content"),
    path("vector_stores", vector_stores.store_list, name="vector-stores"),
    path("vector_stores/<str:store_id>", vector_stores.store_detail, name="vector-store"),
    path("vector_stores/<str:store_id>/files", vector_stores.store_files, name="vector-store-files"),
    path("vector_stores/<str:store_id>/files/<str:file_id>", vector_stores.store_file, name="vector-store-file"),
    path("vector_stores/<str:store_id>/search", vector_stores.store_search, name="vector-store-search"),
    path("tools", tools.tool_list, name="tools"),
    path("conversations", conversations.conversation_list, name="conversations"),
    path("conversations/<int:conversation_id>", conversations.conversation_detail, name="conversation"),
    path("conversations/<int:conversation_id>/messages", conversations.conversation_messages, name="messages-of"),
    re_path(r"^[\s\S]*$", account.unknown_route),
]

"""WebSocket routes (the chat consumer joins here with the chat issue)."""

websocket_urlpatterns: list = []

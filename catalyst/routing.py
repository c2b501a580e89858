"""WebSocket routes."""

from apps.api.ws.routing import websocket_urlpatterns

__all__ = ["websocket_urlpatterns"]

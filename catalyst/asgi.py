"""ASGI entry point: API paths through the lean handler, other HTTP (admin, pages, static files)
through Django's stock handler, WebSocket through Channels, lifespan (shutdown work) in
catalyst/lifespan.py."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalyst.settings.production")

django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from apps.api import mcp  # noqa: E402
from apps.api.handler import ApiASGIHandler  # noqa: E402
from catalyst.lifespan import lifespan  # noqa: E402
from catalyst.routing import websocket_urlpatterns  # noqa: E402

api_http = ApiASGIHandler()
_ = get_resolver().url_patterns  # import every view now, not on the first request
site_http = ASGIStaticFilesHandler(django_http)
API_PREFIXES = tuple(settings.API_PATH_PREFIXES)


async def http_application(scope, receive, send) -> None:
    if scope["path"].startswith(API_PREFIXES):
        await api_http(scope, receive, send)
    elif scope["path"] == mcp.PATH:
        await mcp.application(scope, receive, send)
    else:
        await site_http(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": URLRouter(websocket_urlpatterns),
        "lifespan": lifespan,
    }
)

# Everything loaded so far lives as long as the process: move it out of the garbage collector's
# reach. Without this a full collection walks Django, both SDKs and pydantic's models, about
# 130 ms with the event loop stopped, on whichever request happens to trigger it.
gc.collect()
gc.freeze()

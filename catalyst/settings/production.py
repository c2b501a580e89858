"""Production: refuses to start with unsafe defaults instead of running insecurely."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DEBUG, JWT_ALGORITHM, JWT_SIGNING_KEY, SECRET_KEY
from .env import env_bool, env_int

_INSECURE_MARKERS = ("django-insecure", "change-me", "changeme", "secret", "example")


def _weak(secret: str, length: int) -> bool:
    return len(secret) < length or len(set(secret)) < 5 or any(m in secret.lower() for m in _INSECURE_MARKERS)


def _refuse_unsafe_settings() -> None:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    if _weak(SECRET_KEY, 50):
        raise ImproperlyConfigured("SECRET_KEY looks like a default or weak value; use at least 50 random characters.")
    if JWT_ALGORITHM == "HS256" and JWT_SIGNING_KEY is not None and _weak(JWT_SIGNING_KEY, 32):
        raise ImproperlyConfigured(
            "JWT_SIGNING_KEY looks like a default or weak value; use at least 32 random characters (or unset it "
            "to sign with SECRET_KEY)."
        )
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
    if not ALLOWED_HOSTS or any(host == "*" or host.startswith("*") for host in ALLOWED_HOSTS):
        raise ImproperlyConfigured("ALLOWED_HOSTS must list the real host names; wildcards are refused.")


_refuse_unsafe_settings()

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

"""Development on one machine: the embedded default unless DATABASE_URL / REDIS_URL are set."""

from .base import *  # noqa: F403
from .env import env_bool, env_list, env_str

DEBUG = env_bool("DEBUG", True)
# A fixed development key keeps sessions alive across restarts; production refuses it.
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-local-development-only"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

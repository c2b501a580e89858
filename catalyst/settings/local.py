"""Development on one machine: the embedded default unless DATABASE_URL / REDIS_URL are set."""

import os
import secrets
from pathlib import Path

from .base import *  # noqa: F403
from .base import VAR_DIR
from .env import env_bool, env_list, env_str

DEBUG = env_bool("DEBUG", True)


def install_secret(var_dir: Path) -> str:
    """This install's own random secret, made once under var/ (mode 0600) and kept across runs, so
    sessions survive restarts and no two installs sign sessions or JWTs with the same key."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        draft = var_dir / f".secret_key.{os.getpid()}"
        draft.write_text(secrets.token_urlsafe(64))
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # atomic, and it fails if another process got there first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or install_secret(VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
# The mock LLM server's command (`manage.py runmock`) for development and tests; never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "apps.mockllm"]

"""Production settings refuse unsafe defaults, and `check --deploy` is clean with a sane environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "catalyst.settings.production",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def sane_environment() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_hex(32), "ALLOWED_HOSTS": "catalyst.example.com", "DEBUG": "0"}


def test_check_deploy_is_clean_with_a_sane_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **sane_environment())

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "django-insecure-local-development-only"}, "looks like a default or weak value"),
        ({"SECRET_KEY": "a" * 64}, "looks like a default or weak value"),
        ({"DEBUG": "1"}, "DEBUG must be off"),
        ({"ALLOWED_HOSTS": "*"}, "wildcards are refused"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(override, complaint):
    result = manage("check", **{**sane_environment(), **override})

    assert result.returncode != 0
    assert complaint in result.stderr
    assert "ImproperlyConfigured" in result.stderr

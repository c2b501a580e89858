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
        ({"JWT_SIGNING_KEY": "secret"}, "JWT_SIGNING_KEY looks like a default or weak value"),
        ({"JWT_SIGNING_KEY": "x7" * 10}, "JWT_SIGNING_KEY looks like a default or weak value"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(override, complaint):
    result = manage("check", **{**sane_environment(), **override})

    assert result.returncode != 0
    assert complaint in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_each_local_install_signs_with_its_own_random_secret(tmp_path):
    """`make run` once signed every install's sessions and JWTs with one public constant."""
    probe = "from django.conf import settings; print(settings.SECRET_KEY)"

    def secret(var_dir: Path) -> str:
        env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "catalyst.settings.local",
               "CATALYST_VAR_DIR": str(var_dir)}  # fmt: skip
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", probe], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    first, again, other = secret(tmp_path / "a"), secret(tmp_path / "a"), secret(tmp_path / "b")

    assert first == again  # kept across runs
    assert first != other  # and never shared between installs
    assert len(first) >= 64
    assert "insecure" not in first
    assert oct((tmp_path / "a" / "secret_key").stat().st_mode & 0o777) == "0o600"

"""The test suite: real PostgreSQL + pgvector and Redis (catalyst/testing/services.py)."""

from pathlib import Path

from catalyst.testing.services import configure_test_environment

configure_test_environment(Path(__file__).resolve().parent.parent.parent / "var")

from .base import *  # noqa: E402, F403
from .env import env_str  # noqa: E402

DEBUG = False
SECRET_KEY = "test-only-secret-key-never-used-outside-the-test-suite"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = env_str("LOG_LEVEL", "WARNING")
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None

# Two suites may share one server (a developer and a helper); TEST_DB_NAME keeps them apart.
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DB_NAME", "test_catalyst")}
# The mock LLM server's command (`manage.py runmock`) for development and tests; never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "apps.mockllm"]

"""Settings shared by every environment.

With no configuration Catalyst runs embedded (SQLite under var/, in-process channel layer, cache
and hot store, eager Celery). DATABASE_URL and REDIS_URL switch to the real services; the code
paths are the same (docs/adr/0002-embedded-default.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CATALYST_VAR_DIR") or BASE_DIR / "var")

SECRET_KEY = env_str("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "apps.core.apps.CatalystAdminConfig",
    "apps.core.apps.UsersConfig",  # django.contrib.auth, named "Users and groups"
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "apps.core.apps.TwoFactorConfig",  # django_otp.plugins.otp_totp, named "Two-factor devices"
    "channels",
    "apps.core",
    "apps.tenancy",
    "apps.catalogue",
    "apps.providers",
    "apps.metering",
    "apps.cache",
    "apps.guardrails",
    "apps.retrieval",
    "apps.tools",
    "apps.gateway",
    "apps.chat",
    "apps.responses",
    "apps.audit",
    "apps.observability",
    "apps.compliance",
    "apps.api",
]

MIDDLEWARE = [
    "apps.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The API paths run through a lean handler with only natively async middleware (ADR 0005).
API_PATH_PREFIXES = ("/v1/", "/health", "/ready", "/metrics")
API_MIDDLEWARE = [
    "apps.api.middleware.RequestIdMiddleware",
    "apps.api.middleware.ApiSecurityHeadersMiddleware",
]

ROOT_URLCONF = "catalyst.urls"
ASGI_APPLICATION = "catalyst.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or ""
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "catalyst.sqlite3",
            "CONN_MAX_AGE": 60,
            # WAL and immediate transactions let the server and background writers share the file.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis-backed services, or their in-process substitutes ---------------------------------
REDIS_URL = env_str("REDIS_URL") or None
HOTSTORE_PREFIX = env_str("HOTSTORE_PREFIX", "catalyst:")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": HOTSTORE_PREFIX + "cache",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # socket_timeout None: the layer's receive blocks in BZPOPMIN for seconds at a time, and
            # redis-py 8 would otherwise cut every idle read after 5 s and drop the WebSocket.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": HOTSTORE_PREFIX + "asgi",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery: a real broker when one is configured, eager execution otherwise ----------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Who moves queued usage records and audit entries from Redis into the database: every web
# process (`web`, the default; nothing else needed) or the Celery workers (`worker`: beat asks for
# a drain every QUEUE_FLUSH_SECONDS and web processes spend no CPU on batch writes). With `web`,
# the same tasks still run every minute as a backstop.
QUEUE_FLUSHER = env_str("QUEUE_FLUSHER", "web")
if QUEUE_FLUSHER not in ("web", "worker"):
    raise ImproperlyConfigured(f"QUEUE_FLUSHER must be web or worker, not {QUEUE_FLUSHER!r}.")
if QUEUE_FLUSHER == "worker" and CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured("QUEUE_FLUSHER=worker needs Celery workers: set REDIS_URL or CELERY_BROKER_URL.")
_FLUSH_SECONDS = float(env_str("QUEUE_FLUSH_SECONDS", "1")) if QUEUE_FLUSHER == "worker" else 60.0
# A drain request that waited five intervals (busy workers) is dropped: a newer one is queued.
_FLUSH = {"schedule": _FLUSH_SECONDS, "options": {"expires": 5 * _FLUSH_SECONDS}}
# Audit checkpoints (apps/audit/checkpoints.py): signed notes of the trail's head, so deleting the
# newest entries shows. Taken every AUDIT_CHECKPOINT_SECONDS by beat, and by each web process with
# QUEUE_FLUSHER=web (the embedded default has no beat). The key signs them; empty, it is derived
# from SECRET_KEY where it is used (SECRET_KEY is only final in the environment's own settings).
# AUDIT_CHECKPOINT_FILE, when set, receives a copy of each checkpoint (one JSON line) outside the database.
AUDIT_CHECKPOINT_SECONDS = float(env_str("AUDIT_CHECKPOINT_SECONDS", "60"))
AUDIT_CHECKPOINT_KEY = env_str("AUDIT_CHECKPOINT_KEY", "")
AUDIT_CHECKPOINT_FILE = env_str("AUDIT_CHECKPOINT_FILE", "")
CELERY_BEAT_SCHEDULE = {
    "flush-usage-records": {"task": "metering.flush_usage", **_FLUSH},
    "flag-cost-anomalies": {"task": "metering.flag_cost_anomalies", "schedule": 3600.0},
    "flush-audit-entries": {"task": "audit.flush", **_FLUSH},
    "purge-expired-prompts": {"task": "audit.purge_expired", "schedule": 3600.0},
    "expire-cache-vectors": {"task": "cache.expire_vectors", "schedule": 600.0},
    "audit-checkpoint": {
        "task": "audit.checkpoint",
        "schedule": AUDIT_CHECKPOINT_SECONDS,
        "options": {"expires": AUDIT_CHECKPOINT_SECONDS},  # a newer request is queued by then
    },
}

# --- Authentication ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/chat/"
LOGIN_URL = "login"  # end users sign in here; staff use the admin's own OTP login
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Catalyst")

# JWTs for chat and service accounts: HS256 with JWT_SIGNING_KEY (SECRET_KEY when unset), or
# RS256 with a PEM key pair (the private key is only needed where tokens are issued).
JWT_ALGORITHM = env_str("JWT_ALGORITHM", "HS256")
JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY") or None
JWT_PRIVATE_KEY = env_str("JWT_PRIVATE_KEY") or None
JWT_PUBLIC_KEY = env_str("JWT_PUBLIC_KEY") or None
JWT_AUDIENCE = env_str("JWT_AUDIENCE", "catalyst")
JWT_ISSUER = env_str("JWT_ISSUER", "catalyst")
JWT_TTL_SECONDS = env_int("JWT_TTL_SECONDS", 900)
# No token may live longer than this (exp - iat), whoever issued it: a stolen token expires.
JWT_MAX_TTL_SECONDS = env_int("JWT_MAX_TTL_SECONDS", 12 * 3600)
if JWT_TTL_SECONDS > JWT_MAX_TTL_SECONDS:
    raise ImproperlyConfigured("JWT_TTL_SECONDS must not exceed JWT_MAX_TTL_SECONDS.")

# Authenticated credentials are cached in the hot store; a change to a key, tenant or membership
# deletes the entry, so the TTL only bounds memory, never staleness.
CREDENTIAL_CACHE_SECONDS = env_int("CREDENTIAL_CACHE_SECONDS", 300)
# Without Redis each process caches for itself; a database epoch tells it, within this many
# seconds, that another process (a management command, a second server) changed a credential.
EPOCH_CHECK_SECONDS = float(env_str("EPOCH_CHECK_SECONDS", "0.5"))
# Failed authentications per client address per minute before it gets 429 without a lookup.
AUTH_FAILURES_PER_MINUTE = env_int("AUTH_FAILURES_PER_MINUTE", 30)
KEY_LAST_USED_RESOLUTION_SECONDS = env_int("KEY_LAST_USED_RESOLUTION_SECONDS", 60)

# --- Internationalisation, static files -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (/v1/files): local disk under the var directory by default. In production, set
# FILE_STORAGE_BACKEND to a django-storages backend (S3, GCS, Azure) and its options in
# FILE_STORAGE_OPTIONS (JSON); the rows never hold the bytes.
MEDIA_ROOT = VAR_DIR / "files"
STORAGES = {
    "default": {
        "BACKEND": env_str("FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": json.loads(env_str("FILE_STORAGE_OPTIONS", "{}")),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILES_MAX_BYTES = env_int("FILES_MAX_BYTES", 64 * 1024 * 1024)  # one upload to /v1/files
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024  # larger uploads are parsed into a temporary file

# --- Logging: one JSON object per line on stdout ---------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
ADMINS = [("Operations", address) for address in env_list("ADMIN_EMAILS")]
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
SERVER_EMAIL = env_str("SERVER_EMAIL", "catalyst@localhost")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", SERVER_EMAIL)  # the new owner's set-password mail
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Gateway: deadlines, retries, circuit breaker, request size --------------------------------
GATEWAY_TOTAL_TIMEOUT_SECONDS = float(env_str("GATEWAY_TOTAL_TIMEOUT_SECONDS", "60"))
GATEWAY_RETRIES_PER_MODEL = env_int("GATEWAY_RETRIES_PER_MODEL", 1)
GATEWAY_BACKOFF_BASE_SECONDS = float(env_str("GATEWAY_BACKOFF_BASE_SECONDS", "0.25"))
GATEWAY_BACKOFF_MAX_SECONDS = float(env_str("GATEWAY_BACKOFF_MAX_SECONDS", "8"))
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 4 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEWAY_MAX_BODY_BYTES
BREAKER_FAILURE_THRESHOLD = env_int("BREAKER_FAILURE_THRESHOLD", 5)
BREAKER_COOLDOWN_SECONDS = float(env_str("BREAKER_COOLDOWN_SECONDS", "30"))
LOG_PROMPTS = env_bool("LOG_PROMPTS", False)
# Tokens a request without max_tokens is expected to write, for its tokens-per-minute charge at
# admission (corrected by the real count afterwards).
LIMITS_EXPECTED_OUTPUT_TOKENS = env_int("LIMITS_EXPECTED_OUTPUT_TOKENS", 512)
# Under a budget, the output cap sent upstream shrinks to what the budget still allows; a request
# for which fewer tokens than this remain is refused with 402 instead of being cut to nothing.
LIMITS_MIN_OUTPUT_TOKENS = env_int("LIMITS_MIN_OUTPUT_TOKENS", 16)
CATALOGUE_CHECK_INTERVAL_SECONDS = float(env_str("CATALOGUE_CHECK_INTERVAL_SECONDS", "1"))
# The embedding model of tenants that name none (apps/embeddings): a catalogue embedding model, or
# empty for the local model packaged with Catalyst (no provider, no download).
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "")
# `pipeline: "auto"` answers from a tenant's default vector store only when its best chunk is at
# least this similar to the question (cosine); otherwise the question does not need it.
RAG_AUTO_MIN_SIMILARITY = float(env_str("RAG_AUTO_MIN_SIMILARITY", "0.35"))

# Agent runs (apps/tools/agent.py): the limits a request may lower, never raise past the cap.
AGENT_MAX_STEPS = env_int("AGENT_MAX_STEPS", 8)  # model calls per run
AGENT_MAX_STEPS_CAP = 32
AGENT_MAX_TOOL_CALLS = env_int("AGENT_MAX_TOOL_CALLS", 16)
AGENT_MAX_SECONDS = float(env_str("AGENT_MAX_SECONDS", "120"))
MOCK_LLM_URL = env_str("MOCK_LLM_URL", "http://127.0.0.1:8100")

# --- Observability --------------------------------------------------------------------------
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers no one.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Spans: otlp (OTEL_EXPORTER_OTLP_ENDPOINT, batched), console (JSON lines on stdout) or none.
OTEL_TRACES_EXPORTER = env_str("OTEL_TRACES_EXPORTER", "none")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "catalyst")

# --- Chat (WebSocket /ws/chat/, conversations, the chat page) -------------------------------
# History sent with a message: at most this many tokens (and never more than the model's context
# leaves after its answer). Past CHAT_SUMMARY_THRESHOLD_TOKENS of unsummarised history, the
# cheapest chat model (or CHAT_SUMMARY_MODEL) folds the oldest turns into a rolling summary.
CHAT_CONTEXT_TOKENS = env_int("CHAT_CONTEXT_TOKENS", 8000)
CHAT_SUMMARY_THRESHOLD_TOKENS = env_int("CHAT_SUMMARY_THRESHOLD_TOKENS", 4000)
CHAT_SUMMARY_KEEP_MESSAGES = env_int("CHAT_SUMMARY_KEEP_MESSAGES", 4)
CHAT_SUMMARY_MODEL = env_str("CHAT_SUMMARY_MODEL", "")
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 32_000)
# The server pings a connection that has sent nothing for CHAT_HEARTBEAT_SECONDS and closes it
# (4408) when no frame follows within CHAT_PONG_TIMEOUT_SECONDS.
CHAT_HEARTBEAT_SECONDS = float(env_str("CHAT_HEARTBEAT_SECONDS", "30"))
CHAT_PONG_TIMEOUT_SECONDS = float(env_str("CHAT_PONG_TIMEOUT_SECONDS", "10"))
# Frames a connection may send per second (a bucket of CHAT_FRAME_BURST); past the burst, frames
# are refused with an error frame, and a connection that goes on flooding is closed (4429).
CHAT_FRAMES_PER_SECOND = float(env_str("CHAT_FRAMES_PER_SECOND", "10"))
CHAT_FRAME_BURST = env_int("CHAT_FRAME_BURST", 40)
# Browser pages on other origins than ALLOWED_HOSTS that may open chat connections.
CHAT_ALLOWED_ORIGINS = env_list("CHAT_ALLOWED_ORIGINS")
# Lifetime of the JWT the chat page obtains for itself (it fetches a new one on every connect).
CHAT_PAGE_TOKEN_TTL_SECONDS = env_int("CHAT_PAGE_TOKEN_TTL_SECONDS", 300)

# Catalyst: one image for every role (web, Celery worker, Celery beat, one-shot migrate).
# docker-compose.yml picks the role with `command:`; the default is the ASGI web server.
#
#   docker build -t catalyst .
#   docker run --env-file .env -p 8000:8000 catalyst
#
# Static files are served by the ASGI app from the staticfiles finders, so no collectstatic.
FROM python:3.11-slim

# Production settings unless overridden; they refuse to start without a real SECRET_KEY,
# ALLOWED_HOSTS without wildcards and DEBUG off (see .env.example).
ENV DJANGO_SETTINGS_MODULE=catalyst.settings.production \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unprivileged runtime user; the code stays owned by root (read-only for the app).
RUN groupadd --system --gid 1000 catalyst \
    && useradd --system --uid 1000 --gid catalyst --create-home --shell /usr/sbin/nologin catalyst

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the requirements change.
# Every pinned package ships a manylinux wheel, so no compiler is needed.
COPY requirements/base.txt requirements/
RUN pip install -r requirements/base.txt

COPY . .

# var/ is the only writable directory (Celery beat's schedule file, uploaded files on the default
# storage, the SQLite fallback when DATABASE_URL is unset). .dockerignore keeps the developer's var/
# out of the image. var/files is created here so that the named volume mounted on it starts owned
# by the app user.
RUN mkdir -p /app/var/files && chown -R catalyst:catalyst /app/var

USER catalyst

EXPOSE 8000

CMD ["uvicorn", "--host", "0.0.0.0", "--port", "8000", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--ws", "wsproto", "--ws-per-message-deflate", "false", "--ws-max-size", "1048576", "--proxy-headers", "catalyst.asgi:application"]

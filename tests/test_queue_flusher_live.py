"""QUEUE_FLUSHER=worker: the web process only queues usage records and audit entries; a real
Celery worker, asked by beat, moves them into the database, each exactly once."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import httpx
import pytest
import redis
from django.conf import settings

from apps.audit.models import AuditEntry
from apps.core.redis.hotstore import RedisHotStore
from apps.metering.models import UsageRecord
from catalyst.testing.live import start_catalyst, start_celery_worker, stop

from .conftest import _database_url

pytestmark = pytest.mark.django_db
BROKER_URL = "redis://127.0.0.1:6379/11"  # this test's own Redis database, emptied of its keys after
BODY = {"model": "gpt-mock", "messages": [{"role": "user", "content": "Say hello to the worker"}]}


@pytest.fixture
def web_and_worker(live, tmp_path, django_db_blocker):
    prefix = f"catalyst-test-flusher-{uuid.uuid4().hex[:8]}:"  # no other process's flusher drains it
    env = {"HOTSTORE_PREFIX": prefix, "QUEUE_FLUSHER": "worker", "QUEUE_FLUSH_SECONDS": "0.5"}
    with django_db_blocker.unblock():
        database_url = _database_url()
    server = start_catalyst(database_url, tmp_path / "server.log", **env)
    worker_env = {
        **os.environ, **env, "DJANGO_SETTINGS_MODULE": "catalyst.settings.local", "DEBUG": "0",
        "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL, "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": BROKER_URL,
    }  # fmt: skip

    workers: list[subprocess.Popen] = []

    def started() -> subprocess.Popen:
        workers.append(start_celery_worker(worker_env, tmp_path, (tmp_path / "worker.log").open("a")))
        return workers[-1]

    yield server, prefix, started
    for process in [server.process, *workers]:
        stop(process)
    RedisHotStore(settings.REDIS_URL, prefix).clear_sync()
    RedisHotStore(BROKER_URL, "").clear_sync()  # the broker's keys: the whole of this test's database


def _queued(prefix: str, name: str) -> int:
    return redis.Redis.from_url(settings.REDIS_URL).llen(f"{prefix}{name}:pending")


def test_the_web_process_only_queues_and_the_worker_writes_each_entry_once(fresh, web_and_worker):
    server, prefix, start_worker = web_and_worker
    with httpx.Client(base_url=server.url + "/v1", headers={"Authorization": f"Bearer {fresh.key}"}) as client:
        responses = [client.post("/chat/completions", json=BODY) for _ in range(5)]
    request_ids = [response.headers["X-Request-Id"] for response in responses]
    assert [response.status_code for response in responses] == [200] * 5

    # An audit entry is queued once the request's log-only guardrail checks have run, after the
    # response; the first requests of a process also load the checks' recognisers.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (_queued(prefix, "usage"), _queued(prefix, "audit")) != (5, 5):
        time.sleep(0.1)
    time.sleep(1.0)  # four times the web flusher's interval: with QUEUE_FLUSHER=web these would be stored
    assert (_queued(prefix, "usage"), _queued(prefix, "audit")) == (5, 5)
    assert not UsageRecord.objects.filter(request_id__in=request_ids).exists()
    assert not AuditEntry.objects.filter(request_id__in=request_ids).exists()

    worker = start_worker()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (_queued(prefix, "usage") or _queued(prefix, "audit")):
        time.sleep(0.2)
    assert (_queued(prefix, "usage"), _queued(prefix, "audit")) == (0, 0)
    records = UsageRecord.objects.filter(request_id__in=request_ids)
    assert sorted(records.values_list("request_id", flat=True)) == sorted(request_ids)
    assert {(r.tenant_id, r.model, r.outcome) for r in records} == {(fresh.tenant.pk, "gpt-mock", "ok")}
    entries = AuditEntry.objects.filter(request_id__in=request_ids)
    assert sorted(entries.values_list("request_id", flat=True)) == sorted(request_ids)
    assert set(entries.values_list("action", flat=True)) == {"generation.chat"}

    # Draining twice a second for two seconds leaves the worker holding no more sockets than before.
    open_files = len(os.listdir(f"/proc/{worker.pid}/fd"))
    time.sleep(2)
    assert len(os.listdir(f"/proc/{worker.pid}/fd")) == open_files

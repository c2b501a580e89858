"""Ingestion in a Celery worker, as compose runs it: the web process only queues the task (Redis
as the broker), and nothing is ingested until a worker takes it."""

from __future__ import annotations

import io
import os
import time
import uuid

import openai
import pytest
from django.conf import settings

from apps.core.redis.hotstore import RedisHotStore
from apps.retrieval import services as retrieval
from apps.retrieval.models import Chunk, StoredFile
from apps.tenancy import services
from catalyst.testing.live import start_catalyst, start_celery_worker, stop

from .conftest import _database_url, delete_tenants

pytestmark = pytest.mark.django_db
BROKER_URL = "redis://127.0.0.1:6379/12"  # this test's own Redis database, emptied of its keys after


@pytest.fixture(scope="module")  # outside the test's transaction: the tenant is committed for the server
def web_and_worker(live, tmp_path_factory, django_db_blocker):
    tmp_path = tmp_path_factory.mktemp("queued")
    with django_db_blocker.unblock():
        database_url = _database_url()
        key = services.tenant_onboard(slug="queued", name="Queued", tier="unlimited").issued.plaintext
    env = {
        "DJANGO_SETTINGS_MODULE": "catalyst.settings.local", "DEBUG": "0", "CATALYST_VAR_DIR": str(tmp_path),
        "HOTSTORE_PREFIX": f"catalyst-test-ingest-{uuid.uuid4().hex[:8]}:", "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": BROKER_URL, "CELERY_RESULT_BACKEND": BROKER_URL, "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": settings.SECRET_KEY,  # keys are hashed with it
    }  # fmt: skip
    server = start_catalyst(database_url, tmp_path / "server.log", **env)
    workers = []

    def started():
        worker_env = {**os.environ, **env, "DATABASE_URL": database_url}
        workers.append(start_celery_worker(worker_env, tmp_path, (tmp_path / "worker.log").open("a")))

    yield server, key, started
    for process in [server.process, *workers]:
        stop(process)
    RedisHotStore(BROKER_URL, "").clear_sync()
    with django_db_blocker.unblock():
        for row in StoredFile.objects.filter(tenant__slug="queued"):
            retrieval.delete_file(row.tenant_id, row.public_id)
        delete_tenants(slug="queued")


def test_the_web_process_queues_ingestion_and_a_celery_worker_does_it(web_and_worker):
    server, key, start_worker = web_and_worker
    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
    store = sdk.vector_stores.create(name="queued")
    uploaded = sdk.files.create(file=("notes.md", io.BytesIO(b"The worker ingests this note.")), purpose="assistants")

    attached = sdk.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    time.sleep(1.0)
    waiting = sdk.vector_stores.files.retrieve(uploaded.id, vector_store_id=store.id)
    start_worker()
    done = sdk.vector_stores.files.poll(uploaded.id, vector_store_id=store.id, poll_interval_ms=1000,
                                        max_wait_seconds=60)  # fmt: skip

    assert (attached.status, waiting.status) == ("in_progress", "in_progress")  # no worker, no ingestion
    assert (done.status, done.last_error) == ("completed", None)
    assert list(Chunk.objects.filter(store__public_id=store.id).values_list("text", flat=True)) == [
        "The worker ingests this note."
    ]
    found = sdk.vector_stores.search(store.id, query="who ingests the note?")
    assert [r.filename for r in found.data] == ["notes.md"]

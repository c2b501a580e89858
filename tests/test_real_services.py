"""The suite runs on the real services: PostgreSQL with pgvector and Redis, never substitutes."""

import redis
from django.conf import settings
from django.db import connection

from apps.tenancy import keys


def test_the_database_is_postgresql_with_pgvector(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
        cursor.execute("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector")
        (distance,) = cursor.fetchone()
    assert connection.vendor == "postgresql"
    assert version.count(".") >= 1
    assert distance == 1.0


def test_authentication_caches_credentials_in_redis(world, api):
    raw = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    entry = settings.HOTSTORE_PREFIX + "cred:key:" + keys.hash_key(world.acme_key)
    assert raw.get(entry) is None

    assert api.get("/v1/me", world.acme_key).status_code == 200

    assert '"tenant_slug": "acme"' in raw.get(entry)
    assert 0 < raw.ttl(entry) <= settings.CREDENTIAL_CACHE_SECONDS

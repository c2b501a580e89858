"""The hot path's Redis client against the real Redis: order, pipelining, errors and reconnection."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from django.conf import settings

from apps.core.redis.protocol import RedisReplyError, RespConnection


@pytest.fixture
def key():
    name = f"{settings.HOTSTORE_PREFIX}resp-test:{uuid.uuid4().hex}"
    yield name

    async def forget():
        connection = RespConnection(settings.REDIS_URL)
        await connection.execute("DEL", name)
        await connection.close()

    asyncio.run(forget())


def test_commands_of_one_loop_turn_leave_in_one_write_and_replies_keep_their_order(key):
    async def run():
        connection = RespConnection(settings.REDIS_URL)
        await connection.execute("PING")
        writes = []
        write = connection._writer.write
        connection._writer.write = lambda data: (writes.append(data), write(data))[1]
        replies = await asyncio.gather(*(connection.execute("INCR", key) for _ in range(100)))
        await connection.close()
        return replies, writes

    replies, writes = asyncio.run(run())
    assert replies == list(range(1, 101))
    assert len(writes) == 1
    assert writes[0].count(b"INCR") == 100


def test_an_error_reply_fails_its_own_command_only(key):
    async def run():
        connection = RespConnection(settings.REDIS_URL)
        await connection.execute("SET", key, "text")
        results = await asyncio.gather(
            connection.execute("INCR", key), connection.execute("GET", key), return_exceptions=True
        )
        await connection.close()
        return results

    error, value = asyncio.run(run())
    assert isinstance(error, RedisReplyError)
    assert "not an integer" in str(error)
    assert value == "text"


def test_a_killed_connection_fails_what_waits_and_the_next_command_reconnects(key):
    async def run():
        connection = RespConnection(settings.REDIS_URL)
        await connection.execute("CLIENT", "SETNAME", "resp-test-victim")
        own_id = await connection.execute("CLIENT", "ID")
        blocked = asyncio.ensure_future(connection.execute("BLPOP", key, 5))
        await asyncio.sleep(0.05)
        killer = RespConnection(settings.REDIS_URL)
        assert await killer.execute("CLIENT", "KILL", "ID", own_id) == 1  # clients killed
        await killer.close()
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(blocked, 2)
        reply = await connection.execute("SET", key, "after")
        value = await connection.execute("GET", key)
        new_id = await connection.execute("CLIENT", "ID")
        await connection.close()
        return reply, value, own_id, new_id

    reply, value, own_id, new_id = asyncio.run(run())
    assert (reply, value) == ("OK", "after")
    assert new_id != own_id


def test_commands_sent_while_connecting_run_in_the_chosen_database(key):
    base = settings.REDIS_URL.rsplit("/", 1)[0]

    async def run():
        connection = RespConnection(f"{base}/9")
        replies = await asyncio.gather(*(connection.execute("RPUSH", key, n) for n in range(50)))
        await connection.close()
        return replies

    replies = asyncio.run(run())
    database_9, database_0 = redis.Redis.from_url(f"{base}/9"), redis.Redis.from_url(f"{base}/0")
    assert replies == list(range(1, 51))
    assert database_9.llen(key) == 50
    assert database_0.exists(key) == 0
    database_9.delete(key)


def test_a_refused_password_fails_the_command_and_leaves_no_connection_behind(key):
    base = settings.REDIS_URL.rsplit("/", 1)[0].replace("redis://", "redis://:not-the-password@")

    async def run():
        connection = RespConnection(f"{base}/9")
        with pytest.raises(ConnectionError, match="Redis refused AUTH"):
            await connection.execute("SET", key, "never")
        return connection._writer

    assert asyncio.run(run()) is None
    assert redis.Redis.from_url(settings.REDIS_URL).exists(key) == 0

"""What every benchmark needs: a mock LLM, one Catalyst server process, a seeded tenant, cleanup.

The server runs local settings with DEBUG off, Redis for the hot store and channel layer, and
SQLite (or PostgreSQL from pgserver with `postgres=True`). The tenant's limits are far above
what one process can serve, so limits are checked but never reached.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.core.redis.hotstore import RedisHotStore  # noqa: E402
from catalyst.testing.live import free_port, start_celery_worker, stop, wait_until_up  # noqa: E402

UVICORN = ["--no-access-log", "--loop", "uvloop", "--http", "httptools"]  # + the --ws flags each bench sets

SEED = """
from decimal import Decimal
from django.contrib.auth import get_user_model
from apps.catalogue.services import catalogue_seed_demo
from apps.tenancy import services
from apps.tenancy.tokens import issue_token
catalogue_seed_demo(mock_url={mock_url!r})
onboarding = services.tenant_onboard(slug="bench", name="Benchmark", tier="unlimited", owner_username="bench-user")
tenant = onboarding.tenant
tenant.override_requests_per_minute = tenant.override_tokens_per_minute = 100_000_000
tenant.override_concurrent_streams = 100_000
tenant.monthly_budget_usd = {budget}
tenant.save()
from apps.cache.models import CachePolicy
CachePolicy.objects.create(tenant=tenant, mode={cache_mode!r})  # the platform's default is semantic
from apps.guardrails.models import GuardrailRule
for check, direction, action, entities in {guardrail_rules!r}:
    GuardrailRule.objects.create(tenant=tenant, check_name=check, direction=direction, action=action,
                                 entities=entities)
print(issue_token(user_id=onboarding.owner.user.pk, tenant_slug="bench", ttl_seconds=43_200))
print(onboarding.issued.plaintext)
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


@dataclass
class Stack:
    mock_url: str
    url: str
    key: str
    token: str
    server: subprocess.Popen
    env: dict[str, str]
    worker: subprocess.Popen | None = None  # the Celery worker (with beat), when it drains the queues


def cpu_seconds(process: subprocess.Popen | int) -> float:
    """User + system CPU time a process (and the children it waited for) has used so far."""
    pid = process if isinstance(process, int) else process.pid
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _environment(var_dir: str, mock_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "catalyst.settings.local",
        "DEBUG": "0",
        "CATALYST_VAR_DIR": var_dir,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        "HOTSTORE_PREFIX": f"bench-{os.getpid()}:",
        "MOCK_LLM_URL": mock_url,
        "LOG_LEVEL": "INFO",
    }


# The bench tenant's guardrails: "off" (every rule off, as the figures before issue 14 were measured),
# "shipped" (the platform's defaults), "output-pii" (shipped, plus PII patterns redacted from the answer).
_DEFAULTS = (("secrets", "input"), ("pii", "input"), ("pii", "output"), ("injection", "input"), ("toxicity", "input"),
             ("toxicity", "output"))  # fmt: skip
GUARDRAILS = {
    "off": [(check, direction, "off", []) for check, direction in _DEFAULTS],
    "shipped": [],
    "output-pii": [("pii", "output", "redact", ["CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE"])],
}


def _seed(env: dict[str, str], mock_url: str, budget: str | None, cache_mode: str, guardrails: str) -> tuple[str, str]:
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = SEED.format(mock_url=mock_url, budget=f"Decimal({budget!r})" if budget else None, cache_mode=cache_mode,
                       guardrail_rules=GUARDRAILS[guardrails])  # fmt: skip
    seeded = subprocess.run(
        [python, "manage.py", "shell", "-v", "0", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    token, key = seeded.stdout.strip().splitlines()[-2:]
    return token, key


def server_command(server: str, port: int, extra: list[str] | None = None) -> list[str]:
    if server == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "catalyst.asgi:application"]
    command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), *UVICORN]
    return [*command, *(extra or []), "catalyst.asgi:application"]


@contextlib.contextmanager
def stack(
    *,
    server: str = "uvicorn",
    postgres: bool = False,
    budget: str | None = None,
    server_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    flusher: str = "web",
    cache_mode: str = "off",
    guardrails: str = "off",
) -> Iterator[Stack]:
    """flusher="worker" starts a Celery worker with beat beside the server, which then only queues
    usage records and audit entries (QUEUE_FLUSHER=worker); "web" lets the server write them.
    cache_mode is the bench tenant's cache policy ("off" unless a bench measures the cache);
    guardrails its guardrail rules (GUARDRAILS: "off" unless a bench measures them)."""
    mock_port, port = free_port(), free_port()
    mock_url, url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as var_dir:
        extra, env = env or {}, _environment(var_dir, mock_url)
        env.update(extra)
        env["QUEUE_FLUSHER"] = flusher
        if postgres:
            import pgserver

            database = pgserver.get_server(Path(var_dir) / "pgdata", cleanup_mode="stop")
            env["DATABASE_URL"] = database.get_uri()
        token, key = _seed(env, mock_url, budget, cache_mode, guardrails)
        mock = subprocess.Popen(
            [sys.executable, "-m", "apps.mockllm.server", "--host", "127.0.0.1", "--port", str(mock_port)],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        with open(Path(var_dir) / "server.log", "w") as log:
            process = subprocess.Popen(
                server_command(server, port, server_args), cwd=ROOT, env=env, start_new_session=True, stdout=log,
                stderr=log,
            )  # fmt: skip
            worker = None
            if flusher == "worker":
                worker = start_celery_worker(env, Path(var_dir), log)
            try:
                wait_until_up(mock_url + "/_mock/health", mock)
                wait_until_up(url + "/health", process)
                yield Stack(mock_url, url, key, token, process, env, worker)
            except BaseException:
                print((Path(var_dir) / "server.log").read_text()[-4000:], file=sys.stderr)
                raise
            finally:
                stop(process)
                if worker is not None:
                    stop(worker)
                stop(mock)
                RedisHotStore(env["REDIS_URL"], env["HOTSTORE_PREFIX"]).clear_sync()  # this run's keys only

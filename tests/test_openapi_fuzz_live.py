"""Schemathesis against a live server: every operation of /api/schema/, generated valid and invalid
requests, and every answer checked against the document (status documented, content type, body
schema, headers, no 5xx, invalid input refused, auth enforced, stateful links).

`positive_data_acceptance` is left out: the document cannot state the cross-field rules that make
a schema-valid request a 400 (only user messages may hold images, a forced tool must be one that
`tools` offers, a prompt must fit the model's context), and those are tested one by one in
tests/test_generation_validation.py.

Bounded: a fixed seed, a few examples per operation, one dedicated server whose failed-auth
throttle is lifted (the fuzzer sends many bad credentials on purpose) and whose hot-store prefix is
the run's own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from apps.tenancy import services
from apps.tenancy.models import Tenant
from catalyst.testing.live import start_catalyst, stop

from .conftest import _database_url

pytestmark = pytest.mark.django_db
CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
INTERPRETER_BUG = "SystemError: AST constructor recursion depth mismatch"


@pytest.fixture(scope="module")
def fuzzed(live, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        url = _database_url()
        onboarding = services.tenant_onboard(slug="fuzz", name="Fuzz", tier="enterprise", owner_username="fuzz-owner")
        owner = onboarding.owner.user
        key = services.key_create(tenant=onboarding.tenant, name="fuzzer", user=owner).plaintext
    log = tmp_path_factory.mktemp("fuzz") / "server.log"
    server = start_catalyst(
        url,
        log,
        HOTSTORE_PREFIX=os.environ["HOTSTORE_PREFIX"] + "fuzz:",
        AUTH_FAILURES_PER_MINUTE="1000000",
        GATEWAY_BACKOFF_BASE_SECONDS="0.01",
        GATEWAY_BACKOFF_MAX_SECONDS="0.05",
    )
    yield server, key
    stop(server.process)
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="fuzz").delete()
        get_user_model().objects.filter(username="fuzz-owner").delete()


def test_every_operation_answers_as_its_schema_says(fuzzed, tmp_path):
    server, key = fuzzed
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG), "--no-color",
        "run", server.url + "/api/schema/", "--url", server.url,
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", "10", "--seed", "20261201", "--workers", "2", "--request-timeout", "15",
    ]  # fmt: skip
    env = {**os.environ, "CATALYST_FUZZ_KEY": key}

    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    if run.returncode and INTERPRETER_BUG in run.stdout and "Failures:" not in run.stdout:
        # CPython 3.11.7 now and then raises this SystemError inside hypothesis (its ast.parse of a
        # strategy's lambda, for a repr): a crash of the generator, not a finding about the API. Once more.
        run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    # The report's "N skipped" (cases schemathesis chose not to generate) is not a skipped test.
    report = re.sub(r"(\d+) skipped", r"\1 not generated", run.stdout[-6000:] + run.stderr[-2000:])
    assert run.returncode == 0, report
    assert "Tested: 38" in run.stdout, report  # every operation ran
    assert " 0 passed" not in run.stdout, report
    assert '"status_code": 500' not in server.log_path.read_text()

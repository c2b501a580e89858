"""The Vercel AI SDK (Node) against the live server: text, stream, a tool call and generateObject
on the Responses API (createOpenAI's default), on chat completions, and on Anthropic Messages.
Its packages are pinned in tests/js/package.json and installed by `make test` (npm ci)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parent / "js" / "clients.mjs"


def test_the_ai_sdk_works_unchanged_on_responses_chat_and_anthropic(fresh):
    env = {**os.environ, "CATALYST_URL": fresh.server.url, "CATALYST_KEY": fresh.key}

    done = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for name in ("responses", "chat", "anthropic"):
        result = results[name]
        assert result["text"], name
        assert result["streamed"] == result["text"], name
        assert result["toolCalls"] == [["weather", {"city": "mock-city"}]], name
        assert result["toolResults"] == ["sunny in mock-city"], name
        assert result["finalText"].startswith("Tool result: sunny in mock-city"), name
        assert set(result["object"]) == {"city", "degrees", "mood", "tags"}, name
        assert result["object"]["mood"] in ("calm", "stormy"), name

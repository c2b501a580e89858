"""The server's mutable state: the record, the scripted responses and the PRNG that decides random failures."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping

from .anthropic_api import forget_prompt_cache
from .behaviour import Behaviour, BehaviourError, MockConfig, coerce, model_overrides, parse_pairs
from .openai_api import forget_prompt_prefixes
from .record import Record


class MockState:
    """Everything a handler needs besides the request; one per application."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.record = Record(config.record_limit)
        self.scripts: dict[str, deque[dict[str, object]]] = {}
        self.rng = random.Random(config.seed)  # noqa: S311 - seeded so failures repeat exactly

    def behaviour_for(self, model: str, header: str | None) -> Behaviour:
        """Process flags, then the model suffix, then the header, then the next scripted entry for this model.

        Raises BehaviourError for a malformed suffix or header (the script was validated when it was posted).
        """
        behaviour = self.config.behaviour
        suffix = model_overrides(model)
        if suffix:
            behaviour = behaviour.merged(dict(suffix))
        if header:
            behaviour = behaviour.merged(dict(parse_pairs(header)))
        script = self.scripts.get(model)
        if script:
            behaviour = behaviour.merged(script.popleft())
        return behaviour

    def set_script(self, model: str, responses: list[Mapping[str, object]]) -> None:
        """Replace the script for `model`; every entry is validated first so a bad one queues nothing."""
        entries: list[dict[str, object]] = []
        for index, response in enumerate(responses):
            if not isinstance(response, Mapping):
                raise BehaviourError(f"responses[{index}] must be an object")
            entries.append(coerce(response))
        self.scripts[model] = deque(entries)

    def reset(self) -> None:
        """Forget records and scripts, and re-seed the failure PRNG so a run can be repeated exactly."""
        self.record.clear()
        self.scripts.clear()
        forget_prompt_cache()
        forget_prompt_prefixes()
        self.rng = random.Random(self.config.seed)  # noqa: S311 - seeded so failures repeat exactly

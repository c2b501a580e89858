"""The options copied from a template are the options `client.post` builds, for both SDKs."""

import anthropic._models
import openai._models
import pytest

from apps.providers.request_options import post_options


@pytest.mark.parametrize("options_class", [openai._models.FinalRequestOptions, anthropic._models.FinalRequestOptions])
def test_copied_options_equal_what_the_sdk_builds_and_leave_the_template_alone(options_class):
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}

    copied = post_options(options_class, "/chat/completions", body, 12.5)
    again = post_options(options_class, "/chat/completions", {"model": "other"}, 3.0)
    built = options_class.construct(  # what client.post(path, body=..., options={"timeout": ...}) builds
        method="post", url="/chat/completions", json_data=body, content=None, files=None, timeout=12.5
    )

    assert _plain(copied.model_dump()) == _plain(built.model_dump())
    assert copied.model_fields_set == built.model_fields_set
    assert (copied.json_data, copied.timeout) == (body, 12.5)
    assert (again.json_data, again.timeout) == ({"model": "other"}, 3.0)
    template = post_options.__globals__["_template"](options_class, "/chat/completions")
    assert _plain({"json_data": template.json_data, "timeout": template.timeout}) == {
        "json_data": None, "timeout": "NOT_GIVEN",
    }  # fmt: skip


def _plain(dumped: dict) -> dict:
    """NOT_GIVEN markers compare by identity, and the two sides hold different ones."""
    return {name: "NOT_GIVEN" if type(value).__name__ == "NotGiven" else value for name, value in dumped.items()}

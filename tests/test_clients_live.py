"""The clients users already run, pointed at Catalyst by base URL and key only: LangChain (OpenAI on
chat completions and on the Responses API, and Anthropic) and pydantic-ai (chat and responses
models). Each does text, a stream, a tool call and structured output end to end."""

from __future__ import annotations

import asyncio
from enum import StrEnum

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel
from pydantic_ai import Agent, NativeOutput
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

pytestmark = pytest.mark.django_db


class Mood(StrEnum):
    calm = "calm"
    stormy = "stormy"


class Forecast(BaseModel):
    city: str
    degrees: int
    mood: Mood
    tags: list[str]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def openai_chat(fresh, **options) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-mock", base_url=fresh.base_url, api_key=fresh.key, max_retries=0, **options)


@pytest.mark.parametrize("responses_api", [False, True], ids=["chat-completions", "responses"])
def test_langchain_openai_text_stream_tools_and_structured_output(fresh, responses_api):
    llm = openai_chat(fresh, use_responses_api=responses_api)

    text = llm.invoke("Say hello")
    streamed = "".join(
        str(chunk.content) if isinstance(chunk.content, str) else chunk.text for chunk in llm.stream("Say hello")
    )
    called = llm.bind_tools([get_weather]).invoke("Weather in Paris?")
    forecast = llm.with_structured_output(Forecast).invoke("Forecast for Paris")

    assert isinstance(text, AIMessage) and text.text
    assert streamed == text.text
    assert [(call["name"], call["args"]) for call in called.tool_calls] == [("get_weather", {"city": "mock-city"})]
    assert isinstance(forecast, Forecast)
    assert forecast.mood in (Mood.calm, Mood.stormy)


def test_langchain_anthropic_text_stream_tools_and_structured_output(fresh):
    llm = ChatAnthropic(
        model="claude-mock", base_url=fresh.server.url, api_key=fresh.key, max_retries=0, max_tokens=200
    )

    text = llm.invoke("Say hello")
    streamed = "".join(chunk.text for chunk in llm.stream("Say hello"))
    called = llm.bind_tools([get_weather]).invoke("Weather in Paris?")
    forecast = llm.with_structured_output(Forecast).invoke("Forecast for Paris")

    assert text.text
    assert streamed == text.text
    assert [(call["name"], call["args"]) for call in called.tool_calls] == [("get_weather", {"city": "mock-city"})]
    assert isinstance(forecast, Forecast)


def _openai_provider(fresh) -> OpenAIProvider:
    return OpenAIProvider(base_url=fresh.base_url, api_key=fresh.key)


@pytest.mark.parametrize("kind", ["chat", "responses", "anthropic"])
def test_pydantic_ai_text_stream_tools_and_native_structured_output(fresh, kind):
    if kind == "chat":
        model = OpenAIChatModel("gpt-mock", provider=_openai_provider(fresh))
    elif kind == "responses":
        model = OpenAIResponsesModel("gpt-mock", provider=_openai_provider(fresh))
    else:
        model = AnthropicModel("claude-mock", provider=AnthropicProvider(base_url=fresh.server.url, api_key=fresh.key))
    settings = {"max_tokens": 1000}  # pydantic-ai asks Anthropic models for 16,384; claude-mock writes 4,096
    agent = Agent(model, model_settings=settings)
    weather = Agent(model, model_settings=settings)

    @weather.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    async def stream() -> str:
        async with agent.run_stream("Say hello") as run:
            return await run.get_output()

    text = agent.run_sync("Say hello").output
    streamed = asyncio.run(stream())
    tooled = weather.run_sync("Weather in Paris?")
    output = NativeOutput(Forecast) if kind != "anthropic" else Forecast  # Anthropic: a forced tool
    forecast = Agent(model, output_type=output, model_settings=settings).run_sync("Forecast for Paris").output

    assert text
    assert streamed == text
    assert "Tool result: sunny in mock-city" in tooled.output
    assert isinstance(forecast, Forecast)

// The Vercel AI SDK against Catalyst: text, stream, a tool call and structured output, through
// createOpenAI() (the Responses API, its default), its .chat() models (chat completions) and
// createAnthropic(). Prints one JSON object of results for tests/test_ai_sdk_live.py to check.
// Usage: CATALYST_URL=http://127.0.0.1:8000 CATALYST_KEY=cat_... node clients.mjs
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const base = process.env.CATALYST_URL;
const apiKey = process.env.CATALYST_KEY;
const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey });
const anthropic = createAnthropic({ baseURL: `${base}/v1`, apiKey });

const forecast = z.object({
  city: z.string(),
  degrees: z.number().int(),
  mood: z.enum(["calm", "stormy"]),
  tags: z.array(z.string()),
});
const weather = tool({
  description: "The weather in a city.",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});

async function exercise(model, options = {}) {
  const text = await generateText({ model, prompt: "Say hello", ...options });
  let streamed = "";
  const stream = streamText({ model, prompt: "Say hello", ...options });
  for await (const delta of stream.textStream) streamed += delta;
  const called = await generateText({
    model, prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(2), ...options,
  });
  const structured = await generateObject({ model, schema: forecast, prompt: "Forecast for Paris", ...options });
  return {
    text: text.text,
    streamed,
    toolCalls: called.steps[0].toolCalls.map((call) => [call.toolName, call.input]),
    toolResults: called.steps[0].toolResults.map((result) => result.output),
    finalText: called.text,
    object: structured.object,
  };
}

const results = {
  responses: await exercise(openai("gpt-mock")),
  chat: await exercise(openai.chat("gpt-mock")),
  anthropic: await exercise(anthropic("claude-mock"), { maxOutputTokens: 1000 }),
};
console.log(JSON.stringify(results));

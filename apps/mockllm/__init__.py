"""A mock LLM provider speaking the OpenAI and Anthropic wire formats, for development, tests and benchmarks."""

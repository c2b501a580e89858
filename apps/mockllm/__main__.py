"""`python -m apps.mockllm [flags]`: the same as `python -m apps.mockllm.server`."""

from .server import main

main()

"""Values the core and the command line share, in a module that imports nothing.

The CLI's parser names the reasoning efforts and the default idle timeout in its help;
reading them from here keeps ``chatlab ask --help`` from importing the lab, the runner
or asyncio.
"""

from __future__ import annotations

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")  # "none": a hybrid model not reasoning
# The one reasoning knob (a lane's ``reasoning``): one of these, or a token budget (an int);
# see chatlab.core.settings.reasoning for what each provider is sent.
REASONING_LEVELS = ("off", "low", "medium", "high")
# How each provider takes that knob (ProviderConfig.reasoning; chatlab.core.settings.reasoning
# holds each one's rules).
REASONING_DIALECTS = (
    "openai",
    "anthropic",
    "gemini",
    "openrouter",
    "effort",
    "open-weight",
    "deepseek",
    "qwen",
    "template",
    "llama.cpp",
    "groq",
    "xai",
    "mistral",
    "together",
    "moonshot",
    "demo",
)
THINK_MODES = ("prompted",)  # a lane's ``think``: "prompted" asks a plain model to think first
DEFAULT_IDLE_TIMEOUT_S = 300.0
STUDY_IDLE_TIMEOUT_S = 120.0  # a study is unattended: a hanging provider should not hold a unit for long
# What chatlab puts in a lane's reasoning for a block Anthropic returned encrypted; a
# masked lane that shows reasoning leaves it out (it would say which provider this is).
REDACTED_THINKING = "[redacted thinking: the provider returned this block encrypted]"

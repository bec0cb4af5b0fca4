"""The providers chatlab knows without any configuration: :class:`ProviderConfig` and
the built-in :data:`PRESETS` (each a base URL, the key's environment variables, a wire
format, a vendor and a reasoning dialect), plus :data:`REASONING_SHOWN`, what each says
of its reasoning, for the providers table, and :data:`STRUCTURED_OUTPUT`, the presets
whose API takes a JSON Schema for the answer (``ProviderConfig.structured_output``).

Cloud presets: openai, anthropic, gemini (Google), openrouter, deepseek, xai, mistral,
groq, together, fireworks, cerebras, alibaba (DashScope, international), moonshot (Kimi)
and azure (Azure OpenAI: its endpoint is the ``base_url`` set in config.toml, and it
takes an ``api_version`` and, optionally, a fixed ``deployment``; without one the
lane's model names the deployment). Local servers need no key: ollama, lmstudio,
llamacpp, vllm, sglang; each carries a ``hint`` said when its server isn't running.
``config.toml`` can override any of them (see :mod:`chatlab.core.settings.config`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ProviderConfig:
    """One provider: a name, a wire format and where to reach it.

    ``vendor`` names the company whose price table and parameter rules apply
    (``openai``, ``anthropic``, ``deepseek``, ``openrouter``…); ``None`` means unknown.
    ``key_envs`` are the environment variables tried after the keychain.
    """

    name: str
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    needs_key: bool = True
    vendor: str | None = None
    key_envs: tuple[str, ...] = ()
    max_retries: int = 2  # chatlab's own retries before the first token (see orchestrator)
    builtin: bool = False
    # How the lane's reasoning knob is sent (a dialect of chatlab.core.settings.reasoning);
    # None: read from the wire format and vendor.
    reasoning: str | None = None
    # Azure OpenAI: the API version (set: the SDK's Azure client, base_url its endpoint)
    # and, optionally, one deployment every lane uses (None: the lane's model names it).
    api_version: str | None = None
    deployment: str | None = None
    # Said after "could not connect to …" (a local server: how to start it).
    hint: str | None = None
    lists_models: bool = True  # GET /models lists what a lane can ask for
    # The API takes a JSON Schema for the answer in its wire format's own field (structured
    # output: Chat's response_format, Responses' text.format, Gemini's
    # response_json_schema). False: never sent, the prompt alone asks for JSON. See
    # STRUCTURED_OUTPUT; a provider defined in config.toml is False.
    structured_output: bool = False

    @property
    def env_candidates(self) -> tuple[str, ...]:
        first = (self.api_key_env,) if self.api_key_env else ()
        return first + tuple(e for e in self.key_envs if e != self.api_key_env)


def _cloud(
    name: str, base_url: str, vendor: str, reasoning: str, *envs: str, kind: str = "openai-chat"
) -> ProviderConfig:
    return ProviderConfig(
        name, kind, base_url=base_url, vendor=vendor, key_envs=envs, builtin=True, reasoning=reasoning
    )


def _local(name: str, base_url: str, reasoning: str, hint: str) -> ProviderConfig:
    return ProviderConfig(
        name, "openai-chat", base_url=base_url, needs_key=False, builtin=True, reasoning=reasoning, hint=hint
    )


_PRESETS: dict[str, ProviderConfig] = {
    "openai": ProviderConfig(
        "openai",
        "openai-responses",
        vendor="openai",
        key_envs=("OPENAI_API_KEY",),
        builtin=True,
        reasoning="openai",
    ),
    "anthropic": ProviderConfig(
        "anthropic",
        "anthropic",
        vendor="anthropic",
        key_envs=("ANTHROPIC_API_KEY",),
        builtin=True,
        reasoning="anthropic",
    ),
    "gemini": _cloud(
        "gemini",
        "https://generativelanguage.googleapis.com",
        "google",
        "gemini",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        kind="gemini",
    ),
    "openrouter": _cloud(
        "openrouter", "https://openrouter.ai/api/v1", "openrouter", "openrouter", "OPENROUTER_API_KEY"
    ),
    "deepseek": _cloud("deepseek", "https://api.deepseek.com", "deepseek", "deepseek", "DEEPSEEK_API_KEY"),
    "xai": _cloud("xai", "https://api.x.ai/v1", "xai", "xai", "XAI_API_KEY"),
    "mistral": _cloud("mistral", "https://api.mistral.ai/v1", "mistral", "mistral", "MISTRAL_API_KEY"),
    "groq": _cloud("groq", "https://api.groq.com/openai/v1", "groq", "groq", "GROQ_API_KEY"),
    "together": _cloud("together", "https://api.together.xyz/v1", "together", "together", "TOGETHER_API_KEY"),
    "fireworks": _cloud(
        "fireworks", "https://api.fireworks.ai/inference/v1", "fireworks", "open-weight", "FIREWORKS_API_KEY"
    ),
    "cerebras": _cloud(
        "cerebras", "https://api.cerebras.ai/v1", "cerebras", "open-weight", "CEREBRAS_API_KEY"
    ),
    "alibaba": _cloud(
        "alibaba",
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "alibaba",
        "qwen",
        "DASHSCOPE_API_KEY",
    ),
    "moonshot": _cloud("moonshot", "https://api.moonshot.ai/v1", "moonshot", "moonshot", "MOONSHOT_API_KEY"),
    # Azure OpenAI: set base_url to the resource's endpoint (https://NAME.openai.azure.com).
    "azure": ProviderConfig(
        "azure",
        "openai-chat",
        vendor="openai",
        key_envs=("AZURE_OPENAI_API_KEY",),
        builtin=True,
        reasoning="openai",
        api_version="2024-10-21",
        lists_models=False,  # /models lists base models, not the deployments a lane names
    ),
    "ollama": _local("ollama", "http://localhost:11434/v1", "open-weight", "is Ollama running?"),
    "lmstudio": _local(
        "lmstudio", "http://localhost:1234/v1", "open-weight", "is LM Studio's server started?"
    ),
    "llamacpp": _local("llamacpp", "http://localhost:8080/v1", "llama.cpp", "is llama-server running?"),
    "vllm": _local("vllm", "http://localhost:8000/v1", "template", "is vLLM's server (vllm serve) running?"),
    "sglang": _local("sglang", "http://localhost:30000/v1", "template", "is the SGLang server running?"),
    # The demo provider's base_url is filled in when the built-in loopback server starts.
    "demo": ProviderConfig(
        "demo", "openai-chat", needs_key=False, vendor="demo", builtin=True, reasoning="demo"
    ),
}

# The presets sent a JSON Schema for the answer (a judge's verdict), from each API's own
# documentation; where it was unclear, or holds for some models only (a 400 would cost a
# whole judge run), the preset is left out and the prompt alone asks for JSON.
#   in:  openai, azure (json_schema since api-version 2024-08-01-preview; we send 2024-10-21);
#        gemini (response_json_schema); mistral (custom structured outputs on every model,
#        since 2025-01-28); xai (every model from grok-2-1212); fireworks, cerebras
#        (response_format json_schema); the local servers: ollama (0.5+), lmstudio, vllm,
#        sglang; demo (the loopback server, for the tests).
#   out: anthropic (output_config.format is for Claude 4.5 and later only: see
#        chatlab.providers.anthropic); deepseek and alibaba (json_object only); groq and
#        together (some models only); openrouter (depends on the provider it routes to);
#        moonshot (not documented); llamacpp (older llama-server builds refuse json_schema
#        with a 400: "Either json_schema or grammar").
STRUCTURED_OUTPUT = frozenset(
    {
        "openai",
        "azure",
        "gemini",
        "mistral",
        "xai",
        "fireworks",
        "cerebras",
        "ollama",
        "lmstudio",
        "vllm",
        "sglang",
        "demo",
    }
)

PRESETS: dict[str, ProviderConfig] = {
    name: replace(p, structured_output=name in STRUCTURED_OUTPUT) for name, p in _PRESETS.items()
}

# Whether each preset's API returns the model's reasoning as text (the providers table).
REASONING_SHOWN: dict[str, str] = {
    "openai": "summaries",
    "anthropic": "yes (summarised from Claude 4)",
    "gemini": "summaries",
    "openrouter": "depends on the model",
    "deepseek": "yes",
    "xai": "grok-3-mini only",
    "mistral": "yes (Magistral, Mistral Small)",
    "groq": "yes",
    "together": "yes",
    "fireworks": "yes",
    "cerebras": "yes",
    "alibaba": "yes",
    "moonshot": "yes",
    "azure": "no",
    "ollama": "yes",
    "lmstudio": "yes",
    "llamacpp": "yes",
    "vllm": "with --reasoning-parser",
    "sglang": "with --reasoning-parser",
    "demo": "yes",
}

"""Scripted models for the loopback server: what each one "thinks" and answers, and how fast.

A :class:`Script` describes one model's behaviour: reasoning text, answer text, the
token rate, chunk sizes, hidden reasoning (a count only) and an optional fault. The
built-in demo models replay a small experiment, "can you tell which one is the
reasoner?", with haikus: a reasoner with a long visible trace, a fast plain model and a
model whose reasoning is hidden. Any option can be overridden per request by appending
``@key=value,key=value`` to the model name, e.g. ``demo-fast@fault=drop,after=20``.
Hostile behaviour for tests is chosen the same way: ``inject=`` puts a lone surrogate,
terminal controls or the caller's own API key into the answer, ``usage=`` sends usage
or a cost that can't be believed, ``body=`` answers with HTML or one whole JSON message
instead of a stream, ``done_text=differs`` makes a Responses ``.done`` disagree with its
deltas, ``echo_key`` repeats the caller's key in an error, and ``fail_times=N`` makes a
status fault (401, 429, 500, 529) hit only the first N requests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

HOSTILE = {
    "inject": ("", "surrogate", "controls", "key"),
    "usage": (
        "",
        "huge",
        "max",
        "negative",
        "nan",
        "string",
        "notobject",
        "neg_cost",
        "nan_cost",
        "huge_cost",
    ),
    "body": ("", "html", "json"),
    "done_text": ("", "differs"),
}
INJECTED = {
    "surrogate": "x\udc80y",  # a lone surrogate: JSON escapes it as \udc80
    "controls": "\x1b[2J\x1b]0;pwned\x07\x00\x9b\u202e",
}

FAULTS = (
    "401",
    "429",
    "500",
    "529",
    "drop",
    "error",
    "malformed",
    "stall",
    "truncate",
    "failed",
    "incomplete",
)


@dataclass(frozen=True)
class Script:
    answer: str = "Hello from the chatlab loopback server."
    reasoning: str = ""
    tokens_per_s: float = 0.0  # 0: as fast as the socket takes it
    chunk_min: int = 1
    chunk_max: int = 4
    hidden_reasoning_tokens: int = 0
    think_delay_s: float = 0.0  # silence before the first token (hidden reasoning)
    reasoning_field: str = (
        "reasoning_content"  # chat: reasoning_content | reasoning | reasoning_details | think
    )
    fault: str | None = None
    after: int = 0  # chunks sent before a mid-stream fault
    retry_after: float = 7.0
    stall_s: float = 60.0
    cached_input_tokens: int = 0
    cost: float | None = None  # a provider-reported cost (OpenRouter style)
    refusal: bool = False
    redacted: bool = False  # Anthropic: send a redacted_thinking block
    echo: bool = False  # answer with the prompt and the number of messages received
    repeat: int = 1  # repeat reasoning and answer this many times (long streams for benchmarks)
    inject: str = ""  # surrogate | controls | key: hostile text put into the answer at chunk ``after``
    usage: str = ""  # huge | negative | nan | string | neg_cost | nan_cost | huge_cost
    body: str = ""  # html | json: answer a streaming request with something else
    done_text: str = ""  # differs: a Responses output_text.done that disagrees with the deltas
    echo_key: bool = False  # error messages repeat the caller's Authorization / x-api-key
    fail_times: int = 0  # a status fault hits only the first N requests for this model (0: all)

    def with_options(self, options: str) -> Script:
        """Apply ``key=value,key=value`` overrides; unknown keys raise ValueError."""
        changes: dict[str, object] = {}
        types = {f.name: f.type for f in fields(self)}
        for part in filter(None, options.split(",")):
            key, _, value = part.partition("=")
            key = {"tps": "tokens_per_s", "hidden": "hidden_reasoning_tokens"}.get(key, key)
            if key not in types:
                raise ValueError(f"unknown script option {key!r}")
            kind = str(types[key])
            if key == "fault" and value not in FAULTS:
                raise ValueError(f"unknown fault {value!r} (one of {', '.join(FAULTS)})")
            if key in HOSTILE and value not in HOSTILE[key]:
                raise ValueError(f"unknown {key} {value!r} (one of {', '.join(HOSTILE[key][1:])})")
            if "bool" in kind:
                changes[key] = value.lower() in ("1", "true", "yes", "")
            elif "float" in kind:
                changes[key] = float(value)
            elif "int" in kind:
                changes[key] = int(value)
            else:
                changes[key] = value
        return replace(self, **changes)  # type: ignore[arg-type]


HAIKU_PROMPT = "Write a haiku about autumn rain on a tin roof."

_REASONER_TRACE = """The user wants a haiku: three lines, five-seven-five syllables, about autumn rain on a tin roof.

What makes this image particular? Tin is loud. Rain on tin is not gentle the way rain on leaves is; it drums, it rattles, it turns the house into an instrument. Autumn adds coldness, the end of the year, leaves, early dark.

A weak haiku would just list those: "rain on the tin roof / autumn leaves are falling down / it is very cold". That is flat. I want a turn, the small surprise a good haiku has in its last line.

Idea: the roof as a drum, the rain as a drummer who does not know the song is over. Or: the sound fills the room so completely that the person inside cannot hear their own thoughts, and that is a relief.

Let me draft.
Line 1: "Tin roof, autumn night" - five syllables: tin (1) roof (2) au (3) tumn (4) night (5). Good.
Line 2: "the rain drums every old song" - the (1) rain (2) drums (3) ev (4) ery (5) old (6) song (7). Seven. Good.
Line 3: needs the turn. "I hum the last one" - I (1) hum (2) the (3) last (4) one (5). Five.

Check the whole: a person inside joins the rain, finishing its song. The "last one" hints at the end of autumn and of the year without saying so. That is better than stating "it is cold".

Alternative line 3: "none of them for me" - sadder, but less warm. The humming version makes the listener part of the scene, which is the point of the tin roof: it makes rain audible, social.

Second check on line 2 rhythm: "the rain drums every old song" reads naturally. Keep it.

Final answer: the haiku, with no explanation unless asked."""

DEMO_SCRIPTS: dict[str, Script] = {
    "demo-reasoner": Script(
        reasoning=_REASONER_TRACE,
        answer="**Tin roof, autumn night**  \nthe rain drums every old song —  \nI hum the last one",
        tokens_per_s=220.0,
    ),
    "demo-fast": Script(
        answer=(
            "Rain on the tin roof,  \nautumn taps a steady beat,  \nleaves drift past the door.\n\n"
            "*A quiet evening, full of sound.*"
        ),
        tokens_per_s=140.0,
        chunk_min=2,
        chunk_max=6,
    ),
    "demo-hidden": Script(
        answer="Cold drops on tin roof —  \nthe whole house becomes a drum  \nplaying the year out",
        tokens_per_s=90.0,
        hidden_reasoning_tokens=412,
        think_delay_s=2.0,
    ),
    "demo-coder": Script(
        answer=(
            "## Reading a file safely\n\n"
            "Open it with a context manager, so it is closed even when reading fails:\n\n"
            "```python\n"
            "from pathlib import Path\n\n\n"
            "def read_lines(path: Path) -> list[str]:\n"
            '    """Every line, without the newline."""\n'
            '    with path.open(encoding="utf-8") as handle:\n'
            '        return [line.rstrip("\\n") for line in handle]\n'
            "```\n\n"
            "> The `encoding` argument matters: the default depends on the platform.\n\n"
            "| approach | closes the file | reads lazily |\n"
            "|---|---|---|\n"
            "| `with open(...)` | yes | yes |\n"
            "| `Path.read_text()` | yes | no |\n"
            "| bare `open(...)` | only when collected | yes |\n\n"
            "For a quick script, `Path.read_text().splitlines()` is the shortest:\n\n"
            "```bash\n"
            "python -c 'import pathlib; print(len(pathlib.Path(\"a.txt\").read_text().splitlines()))'\n"
            "```\n"
        ),
        tokens_per_s=400.0,
        chunk_min=3,
        chunk_max=8,
    ),
    "echo": Script(answer="", echo=True),
}


def resolve(model: str, scripts: dict[str, Script]) -> Script | None:
    """The script for ``model`` (``name@options``), or None when the name is unknown."""
    name, _, options = model.partition("@")
    script = scripts.get(name)
    if script is None:
        return None
    return script.with_options(options) if options else script

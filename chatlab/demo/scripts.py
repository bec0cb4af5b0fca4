"""Scripted models for the loopback server: what each one "thinks" and answers, and how fast.

A :class:`Script` describes one model's behaviour: reasoning text, answer text, the
token rate, chunk sizes, hidden reasoning (a count only) and an optional fault. The
built-in demo models replay a small experiment, "can you tell which one is the
reasoner?", with haikus: a reasoner with a long visible trace, a fast plain model, a
model whose reasoning is hidden, a coder, and demo-hybrid, which reasons only when a
request asks for an effort or a thinking budget (:data:`HYBRID`: more reasoning tokens,
and a better haiku, the higher the effort). A request shapes its script
(:func:`for_request`): a plain model whose system prompt contains ``<think>`` writes a
``<think>`` block of step-by-step thinking into its answer text before answering, and
the demo suite's keyed prompts (:mod:`chatlab.demo.keyed`) are answered right or wrong
at each model's scripted rate (:data:`RATES`), in a fixed pattern. Any option can be overridden per request by appending
``@key=value,key=value`` to the model name, e.g. ``demo-fast@fault=drop,after=20``;
its numbers are bounded (finite, not negative, chunks of one character or more, an
answer repeated at most 100,000 times), so no name can hang the server.
Hostile behaviour for tests is chosen the same way: ``inject=`` puts a lone surrogate,
terminal controls or the caller's own API key into the answer, ``usage=`` sends usage
or a cost that can't be believed, ``body=`` answers with HTML or one whole JSON message
instead of a stream, ``done_text=differs`` makes a Responses ``.done`` disagree with its
deltas, ``echo_key`` repeats the caller's key in an error, and ``fail_times=N`` makes a
status fault (401, 429, 500, 529) hit only the first N requests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from chatlab.demo import judge, keyed

# A request's model name sets these: chunks of 0 characters looped forever and an answer
# repeated 10**8 times took gigabytes, in the window's own demo server.
AT_LEAST_ONE = ("chunk_min", "chunk_max", "repeat")
MAX_OPTION = 1_000_000  # any count, rate or time a model name may set


def _bounded(key: str, value: float, low: float) -> float:
    """``value`` for option ``key`` if it is a finite number from ``low`` to MAX_OPTION,
    else ValueError (the server answers 400)."""
    high = 100_000 if key == "repeat" else MAX_OPTION
    if not low <= value <= high:  # NaN fails too
        raise ValueError(f"{key} must be from {low:g} to {high:,}")
    return value


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
    # Reasoning tokens to report when the streamed trace is a summary of more (0: one a chunk).
    reasoning_tokens: int = 0
    hybrid: bool = False  # reasons only when a request asks (an effort, a thinking budget)
    judge: bool = False  # answers a judge request with a scripted verdict (chatlab.demo.judge)
    # What a plain model thinks inside <think>…</think> when a system prompt asks it to.
    prompted_thinking: str = ""

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
                changes[key] = _bounded(key, float(value), 0.0)
            elif "int" in kind:
                changes[key] = int(_bounded(key, int(value), 1 if key in AT_LEAST_ONE else 0))
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

_FAST_PROMPTED = """The request is a haiku: three lines of five, seven and five syllables, about autumn rain on a tin roof.

What belongs in it? The rain, the roof, and something that says autumn. Tin makes rain loud, so a sound word fits: taps, a beat.

Line 1: "Rain on the tin roof": rain (1) on (2) the (3) tin (4) roof (5). Five.
Line 2: "autumn taps a steady beat": au (1) tumn (2) taps (3) a (4) stead (5) y (6) beat (7). Seven.
Line 3, leaves for the season: "leaves drift past the door": leaves (1) drift (2) past (3) the (4) door (5). Five.

Check: five, seven, five; the season is there and so is the sound. A short line after it can say how the evening feels."""

_CODER_PROMPTED = """The question is how to read a file safely in Python.

Safely means two things: the file is closed even when reading fails, and the text is decoded the same way on every platform. A with block closes it; an explicit encoding avoids the platform's default.

Ways to compare: with open(...), Path.read_text(), and a bare open() left to the garbage collector. A small table shows the difference: which ones close the file, which ones read lazily.

A one-line example for a quick script is worth adding. Check the function: it returns every line without its newline, and the with block closes the handle."""

_HYBRID_PROMPTED = """A haiku about autumn rain on a tin roof: three lines of five, seven and five syllables.

Say what happens. Line 1: "Autumn rain falls down": au (1) tumn (2) rain (3) falls (4) down (5). Five.
Line 2, the roof: "on the roof made out of tin": on (1) the (2) roof (3) made (4) out (5) of (6) tin (7). Seven.
Line 3, what it is like: "it is loud and wet": it (1) is (2) loud (3) and (4) wet (5). Five.

The syllables are right and every part of the request is in it."""


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
        prompted_thinking=_FAST_PROMPTED,
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
        prompted_thinking=_CODER_PROMPTED,
    ),
    "demo-hybrid": Script(
        answer="Autumn rain falls down  \non the roof made out of tin  \nit is loud and wet",
        tokens_per_s=300.0,
        chunk_min=2,
        chunk_max=5,
        hybrid=True,
        prompted_thinking=_HYBRID_PROMPTED,
    ),
    "echo": Script(answer="", echo=True),
    "demo-judge": Script(answer="", judge=True, tokens_per_s=400.0, chunk_min=3, chunk_max=8),
}


def resolve(model: str, scripts: dict[str, Script]) -> Script | None:
    """The script for ``model`` (``name@options``), or None when the name is unknown."""
    name, _, options = model.partition("@")
    script = scripts.get(name)
    if script is None:
        return None
    return script.with_options(options) if options else script


# -- what a request asks of a demo model -------------------------------------------------

EFFORTS = ("low", "medium", "high")  # the efforts a hybrid demo model reasons at


@dataclass(frozen=True)
class Asked:
    """What one request asks of a demo model, read from its body by the server
    (:func:`chatlab.demo.common.asked`): the reasoning effort (``none``, ``low``,
    ``medium`` or ``high``), whether a system prompt asks it to think inside ``<think>``
    tags, and the last user message."""

    effort: str = "none"
    prompted: bool = False
    prompt: str = ""


@dataclass(frozen=True)
class Effort:
    """How demo-hybrid reasons at one effort: its visible reasoning (a summary), the
    reasoning tokens it reports, the silence before its first token while it thinks (only
    when its stream is paced) and its haiku, better the harder it thinks."""

    tokens: int
    delay_s: float
    reasoning: str
    answer: str


HYBRID: dict[str, Effort] = {
    "low": Effort(
        300,
        0.2,
        "A haiku, five-seven-five, on autumn rain on a tin roof. The sound is the point: the roof counts "
        'the drops. Draft: "Rain on tin all night / the roof keeps count of the drops / that the leaves '
        'let fall". Five, seven, five; the falling leaves say autumn.',
        "Rain on tin all night —  \nthe roof keeps count of the drops  \nthat the leaves let fall",
    ),
    "medium": Effort(
        1_000,
        0.4,
        "Three lines, five-seven-five, autumn rain on a tin roof. Listing rain, roof and leaves would be "
        "flat; a haiku wants a turn in its last line.\n\n"
        "What is particular about tin? It is loud. The rain fills the room until there is no space left "
        "for anything else, and that can be a relief.\n\n"
        'Draft: "Autumn rain on tin" (au-tumn-rain-on-tin, five), "louder than the thoughts I had" '
        '(loud-er-than-the-thoughts-I-had, seven), "it thinks for me now" (it-thinks-for-me-now, five). '
        "The last line is the turn: the noise takes over the thinking.",
        "Autumn rain on tin —  \nlouder than the thoughts I had;  \nit thinks for me now",
    ),
    "high": Effort(
        3_000,
        0.8,
        "The request: a haiku on autumn rain on a tin roof. Three lines of five, seven and five "
        "syllables, and ideally a turn in the last line, the small surprise a good haiku has.\n\n"
        "What is particular here? Rain on leaves is soft; rain on tin is loud and close, every drop "
        "heard on its own. Autumn brings the first cold, the year closing, the house shut up early.\n\n"
        'The weak version to avoid: "autumn rain falls down / on the roof made out of tin / it is loud '
        'and wet". The syllables are right, but there is no image and no turn.\n\n'
        "Possible turns: the roof as a drum; the rain as a visitor; the listener joining in. The visitor "
        "is the least worn: each drop a knock, the cold outside wanting in, which says autumn without "
        "naming it.\n\n"
        'Line 1: "Tin roof, first cold rain": tin (1) roof (2) first (3) cold (4) rain (5). Five, and '
        '"first cold" carries the season.\n'
        'Line 2: "every drop a tiny knock": ev (1) er (2) y (3) drop (4) a (5) ti (6) ny (7) knock '
        '(8). Eight if "every" has three syllables, seven if it has two: ambiguous. Better: "each drop '
        'a small, patient knock": each (1) drop (2) a (3) small (4) pa (5) tient (6) knock (7). Seven '
        'however it is read, and "patient" gives the visitor a character.\n'
        'Line 3: "asking to come in": ask (1) ing (2) to (3) come (4) in (5). Five.\n\n'
        "Check the whole: the image is concrete (drops, knocks), the season is there (first cold "
        "rain), and the last line turns the noise into a visitor. Final answer: the haiku alone.",
        "Tin roof, first cold rain —  \neach drop a small, patient knock  \nasking to come in",
    ),
}

# How often each demo model answers a keyed prompt of the demo suite right: right answers
# in every block of BLOCK requests of one prompt, per model and setting. A setting is
# "native" (a model that always reasons), "plain" or "prompted" (a plain model, with a
# system prompt asking it to think in <think> tags), or demo-hybrid's effort ("none",
# "low", "medium", "high"; "prompted" is its effort "none" with that system prompt).
# Within each block the right answers are spread evenly ((p * rate) % BLOCK < rate at
# place p), and each prompt starts at its own place, so a study that asks each of the
# five keyed prompts twice (demo.toml) gets exactly rate × 10 right answers per lane.
BLOCK = 10
RATES: dict[str, dict[str, int]] = {
    "demo-reasoner": {"native": 9},
    "demo-hidden": {"native": 8},
    "demo-fast": {"plain": 5, "prompted": 7},
    "demo-coder": {"plain": 6, "prompted": 8},
    "demo-hybrid": {"none": 5, "prompted": 7, "low": 7, "medium": 8, "high": 9},
}


def setting(script: Script, asked: Asked) -> str:
    """The setting ``asked`` puts ``script`` in, as named in :data:`RATES`."""
    if script.hybrid:
        if asked.effort in EFFORTS:
            return asked.effort
        return "prompted" if asked.prompted and script.prompted_thinking else "none"
    if script.reasoning or script.hidden_reasoning_tokens:
        return "native"
    return "prompted" if asked.prompted and script.prompted_thinking else "plain"


def is_right(model: str, mode: str, place: int, n: int) -> bool:
    """Whether the ``n``-th request (from 0) of the keyed prompt at ``place`` in
    :data:`~chatlab.demo.keyed.KEYED`, to ``model`` in setting ``mode``, is answered right."""
    rate = RATES[model][mode]
    spin = sum(map(ord, model + mode)) % BLOCK  # models slip on different prompts
    p = (2 * place + spin + n) % BLOCK
    return (p * rate) % BLOCK < rate


def think_block(thinking: str) -> str:
    """Thinking as a prompted plain model writes it, before its answer."""
    return f"<think>\n{thinking}\n</think>\n\n"


def for_request(name: str, script: Script, asked: Asked, seen: dict[tuple[str, str, str], int]) -> Script:
    """``script`` (of the model called ``name``) as it answers this request: demo-hybrid
    reasons at the effort asked, a plain model asked to think writes a ``<think>`` block
    into its answer, and a keyed prompt of the demo suite gets a right or a wrong answer
    at the model's rate. ``seen`` counts the keyed requests so far, per model, setting and
    prompt (the server keeps it)."""
    if script.echo:
        return script
    if script.judge:
        return replace(script, answer=judge.verdict(asked.prompt))
    mode = setting(script, asked)
    changes: dict[str, Any] = {}
    effort = HYBRID.get(mode) if script.hybrid else None
    if effort is not None:
        changes.update(reasoning=effort.reasoning, answer=effort.answer, reasoning_tokens=effort.tokens)
        if script.tokens_per_s > 0:
            changes["think_delay_s"] = script.think_delay_s + effort.delay_s
    prompted_thinking = script.prompted_thinking
    found = keyed.find(asked.prompt)
    if found is not None and mode in RATES.get(name, {}):
        place, key = found
        n = seen.get((name, mode, key.id), 0)
        seen[(name, mode, key.id)] = n + 1
        right = is_right(name, mode, place, n)
        changes["answer"] = key.right if right else key.wrong
        paragraphs = key.think_right if right else key.think_wrong
        if effort is not None:
            changes["reasoning"] = keyed.thinking(paragraphs, mode)
        elif script.reasoning:
            changes["reasoning"] = keyed.thinking(paragraphs)
        prompted_thinking = keyed.thinking(paragraphs)
    if mode == "prompted":
        changes["answer"] = think_block(prompted_thinking) + changes.get("answer", script.answer)
    return replace(script, **changes) if changes else script

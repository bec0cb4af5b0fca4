"""Lane presets: the shipped ones set up valid reasoning on/off comparisons and the demo,
the user's survive a save and load of config.toml, and bad preset data is refused with
one line that says where."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from chatlab.core.analysis.votes import model_id
from chatlab.core.data.model import Lane, LaneParams, Message, Request
from chatlab.core.settings import prompted
from chatlab.core.settings.config import (
    MAX_PRESET_LANES,
    ConfigError,
    PresetLane,
    dump_config,
    load_config,
    parse_config,
    save_config,
)
from chatlab.core.settings.presets import (
    DEMO_PRESET,
    Preset,
    all_presets,
    lane_from_spec,
    remove_preset,
    save_preset,
    shipped,
)
from chatlab.providers import anthropic, openai_chat, openai_responses


def _shipped(name_part: str) -> Preset:
    (found,) = [p for p in shipped() if name_part in p.name]
    return found


def _request(entry: PresetLane) -> Request:
    return Request(model=entry.model, messages=[Message("user", "hi")], params=entry.params)


def test_shipped_presets_use_configured_providers_and_valid_params() -> None:
    config = parse_config({})
    presets = shipped()
    assert len({p.name for p in presets}) == len(presets) >= 3
    for preset in presets:
        assert preset.builtin and 1 <= len(preset.entries) <= MAX_PRESET_LANES
        assert preset.missing_providers(config.providers) == []
        for entry in preset.entries:
            entry.params.validate()


def test_claude_preset_is_the_same_model_with_thinking_on_and_off() -> None:
    on, off = _shipped("thinking on vs off").entries
    assert on.spec == off.spec and on.provider == "anthropic"
    sent_on = anthropic.build_kwargs(_request(on))
    sent_off = anthropic.build_kwargs(_request(off))
    assert sent_on["thinking"] == {"type": "enabled", "budget_tokens": on.params.thinking_budget}
    assert sent_on["max_tokens"] > on.params.thinking_budget
    assert "thinking" not in sent_off


def test_o_series_preset_is_the_same_model_at_high_and_low_effort() -> None:
    config = parse_config({})
    high, low = _shipped("effort high vs low").entries
    assert high.spec == low.spec
    efforts = [
        openai_responses.build_kwargs(config.provider("openai"), _request(e))["reasoning"]["effort"]
        for e in (high, low)
    ]
    assert efforts == ["high", "low"]


@pytest.mark.parametrize(
    ("name", "reasoner", "plain"),
    [
        ("Claude Sonnet 4.5: thinking vs asked to think", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("o4-mini vs gpt-4.1 asked to think", "o4-mini", "gpt-4.1"),
        ("DeepSeek V3.2: thinking mode vs asked to think", "deepseek-reasoner", "deepseek-chat"),
    ],
)
def test_prompted_presets_pair_a_reasoner_with_its_plain_sibling_asked_to_think(
    name: str, reasoner: str, plain: str
) -> None:
    config = parse_config({})
    (preset,) = [p for p in shipped() if p.name == name]
    native, asked = preset.entries
    assert (native.model, asked.model) == (reasoner, plain) and native.provider == asked.provider
    assert native.params.think is None and asked.params.think == "prompted"
    assert asked.params.reasoning_effort is None and not asked.params.thinking_budget
    assert "asked to think" in asked.label and "asked to think" not in native.label
    # What each sends: the reasoner reasons; the sibling is told to think first, in the
    # system prompt, and has no reasoning switched on.
    request = Request(plain, [Message("user", "hi")], prompted.request_params(asked.params))
    provider = config.provider(asked.provider)
    if provider.kind == "anthropic":
        sent = anthropic.build_kwargs(request)
        assert "thinking" not in sent and sent["system"] == prompted.shipped_instruction()
        assert "thinking" in anthropic.build_kwargs(_request(native))
    elif provider.kind == "openai-responses":
        sent = openai_responses.build_kwargs(provider, request)
        assert "reasoning" not in sent and sent["instructions"] == prompted.shipped_instruction()
    else:
        sent = openai_chat.build_kwargs(provider, request)
        assert sent["messages"][0] == {"role": "system", "content": prompted.shipped_instruction()}


@pytest.mark.parametrize(
    ("spec", "lane"),
    [
        ("demo:demo-fast", PresetLane("demo", "demo-fast")),
        ("demo:demo-fast{think=prompted}", PresetLane("demo", "demo-fast", LaneParams(think="prompted"))),
        (
            "openai:o3 {reasoning_effort=high}",
            PresetLane("openai", "o3", LaneParams(reasoning_effort="high")),
        ),
        (
            'x:y{ system = "Be brief, {really}.", temperature = 0.7, max_output_tokens=900, label=mine }',
            PresetLane(
                "x",
                "y",
                LaneParams(system="Be brief, {really}.", temperature=0.7, max_output_tokens=900),
                "mine",
            ),
        ),
        (
            "ollama:qwen3:8b{thinking_budget=0,}",
            PresetLane("ollama", "qwen3:8b", LaneParams(thinking_budget=0)),
        ),
        ("demo:echo{}", PresetLane("demo", "echo")),
    ],
)
def test_a_lane_from_the_command_line_carries_its_parameters(spec: str, lane: PresetLane) -> None:
    assert lane_from_spec(spec) == lane


def test_a_contender_id_reads_back_as_its_lane() -> None:
    for params in (
        LaneParams(think="prompted"),
        LaneParams(reasoning_effort="high", max_output_tokens=4000),
        LaneParams(temperature=0.3, thinking_budget=2048, max_output_tokens=9000),
    ):
        lane = Lane("anthropic", "claude-sonnet-4-5", params)
        assert lane_from_spec(model_id(lane)).params == params


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("gpt-4o", "malformed model 'gpt-4o': expected PROVIDER:MODEL"),
        (":gpt-4o", "expected PROVIDER:MODEL"),
        ("demo:{think=prompted}", "expected PROVIDER:MODEL"),
        ("demo:x{think=prompted", "need their closing }"),
        ("demo:x{think}", "expected key=value"),
        ("demo:x{think=prompted think=x}", "think must be one of prompted"),
        ("demo:x{think=prompted, think=prompted}", "think is given twice"),
        ("demo:x{temperature=hot}", "temperature must be a number, got 'hot'"),
        ("demo:x{max_output_tokens=1.5}", "max_output_tokens must be an integer"),
        ("demo:x{temperature=7}", "temperature must be between 0 and 2"),
        ('demo:x{system="open}', "quoted value is not a JSON string"),
        ('demo:x{system="a" "b"}', "expected a comma after system's value"),
        ("demo:x{colour=red}", "unknown key 'colour'"),
        ("demo:x{max_output_tokens=100, thinking_budget=200}", "larger than the thinking budget"),
    ],
)
def test_a_bad_lane_from_the_command_line_is_one_line_naming_it(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        lane_from_spec(spec)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_demo_preset_has_the_three_demo_lanes() -> None:
    (demo,) = [p for p in shipped() if p.name == DEMO_PRESET]
    assert demo.specs() == ["demo:demo-reasoner", "demo:demo-fast", "demo:demo-hidden"]
    assert [lane.label for lane in demo.lanes()] == ["Visible reasoner", "No reasoning", "Hidden reasoner"]


def test_lanes_are_fresh_each_time() -> None:
    preset = _shipped("thinking on vs off")
    first, second = preset.lanes(), preset.lanes()
    ids = [lane.id for lane in first + second]
    assert len(set(ids)) == 4
    first[0].label = "changed"
    assert preset.lanes()[0].label == "thinking on (8k budget)"
    assert first[0].params == preset.entries[0].params


def test_user_presets_round_trip_through_config_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    base = parse_config(
        {
            "providers": {"vllm": {"kind": "openai-chat", "base_url": "http://127.0.0.1:8000/v1"}},
            "rater": "ana",
        }
    )
    lanes = [
        Lane(
            "anthropic",
            "claude-sonnet-4-5",
            LaneParams(system='Be "brief".\nReally.', thinking_budget=2048, max_output_tokens=8000),
            "on \x7f",
        ),
        Lane("vllm", "qwen3", LaneParams(temperature=0.7, reasoning_effort="low")),
    ]
    name = 'mine: "quoted" ünïcode'
    config = save_preset(base, name, lanes)
    save_config(config, path)
    loaded = load_config(path)
    assert loaded.presets == config.presets
    assert loaded.rater == "ana" and loaded.provider("vllm").base_url == "http://127.0.0.1:8000/v1"
    (mine,) = [p for p in all_presets(loaded) if p.name == name]
    assert not mine.builtin
    assert [(x.spec, x.params, x.label) for x in mine.lanes()] == [(x.spec, x.params, x.label) for x in lanes]
    assert {x.id for x in mine.lanes()}.isdisjoint({x.id for x in lanes})
    # The file is plain TOML a person can read: one table per preset, one line per lane.
    text = path.read_text(encoding="utf-8")
    assert tomllib.loads(text)["presets"][name]["lanes"][1] == {
        "provider": "vllm",
        "model": "qwen3",
        "params": {"temperature": 0.7, "reasoning_effort": "low"},
    }
    # Removing it and saving again leaves no trace of it.
    save_config(remove_preset(loaded, name), path)
    assert load_config(path).presets == {} and "presets" not in path.read_text(encoding="utf-8")


def test_saving_a_name_again_replaces_that_preset() -> None:
    config = save_preset(parse_config({}), "pair", [Lane("demo", "demo-fast"), Lane("demo", "demo-reasoner")])
    config = save_preset(config, "pair", [Lane("demo", "demo-hidden")])
    assert [p.specs() for p in all_presets(config) if p.name == "pair"] == [["demo:demo-hidden"]]


def test_all_presets_lists_shipped_first_then_the_users_by_name() -> None:
    config = save_preset(parse_config({}), "b", [Lane("demo", "demo-fast")])
    config = save_preset(config, "A", [Lane("demo", "demo-fast")])
    names = [p.name for p in all_presets(config)]
    assert names == [p.name for p in shipped()] + ["A", "b"]


def test_a_user_preset_named_like_a_shipped_one_takes_its_place() -> None:
    text = f'[presets."{DEMO_PRESET}"]\nlanes = [{{ provider = "demo", model = "demo-fast" }}]\n'
    config = parse_config(tomllib.loads(text))
    presets = all_presets(config)
    assert [p.name for p in presets] == [p.name for p in shipped()]
    (demo,) = [p for p in presets if p.name == DEMO_PRESET]
    assert demo.specs() == ["demo:demo-fast"] and not demo.builtin
    assert remove_preset(config, DEMO_PRESET).presets == {}


@pytest.mark.parametrize(
    "name,lanes,needle",
    [
        ("", [Lane("demo", "demo-fast")], "needs a name"),
        (" padded ", [Lane("demo", "demo-fast")], "spaces"),
        ("x" * 61, [Lane("demo", "demo-fast")], "at most 60"),
        ("bell\x07", [Lane("demo", "demo-fast")], "control characters"),
        (DEMO_PRESET, [Lane("demo", "demo-fast")], "shipped preset"),
        ("none", [], "1 to 8 lanes"),
        ("many", [Lane("demo", "demo-fast")] * 9, "1 to 8 lanes"),
        (
            "hot",
            [Lane("demo", "demo-fast", LaneParams(temperature=3.0))],
            "lane 1 (demo:demo-fast): temperature",
        ),
        (
            "tight",
            [
                Lane(
                    "anthropic", "claude-sonnet-4-5", LaneParams(thinking_budget=4096, max_output_tokens=4096)
                )
            ],
            "larger than the thinking budget",
        ),
        ("blank", [Lane("demo", " ")], "needs a provider and a model"),
        ("broken", [Lane("demo", "demo-fast", label="\ud800")], "not valid Unicode"),
    ],
)
def test_save_preset_refuses_bad_input(name: str, lanes: list[Lane], needle: str) -> None:
    config = parse_config({})
    with pytest.raises(ConfigError) as info:
        save_preset(config, name, lanes)
    assert needle in str(info.value)


def test_remove_preset_refuses_shipped_and_unknown_names() -> None:
    config = parse_config({})
    with pytest.raises(ConfigError, match="shipped preset and can't be removed"):
        remove_preset(config, DEMO_PRESET)
    with pytest.raises(ConfigError, match="no saved preset 'nope'"):
        remove_preset(config, "nope")


LANE = '{ provider = "demo", model = "demo-fast" }'


@pytest.mark.parametrize(
    "text,needle",
    [
        ("presets = 3", "[presets] must be a table"),
        ('[presets."p"]\nlanes = 1', '[presets."p"] lanes must be a list of 1 to 8 lanes'),
        ('[presets."p"]\nlanes = []', '[presets."p"] lanes must be a list of 1 to 8 lanes'),
        ('[presets."p"]\nlanes = [' + ", ".join([LANE] * 9) + "]", "1 to 8 lanes"),
        ('[presets."p"]\nlanes = [' + LANE + "]\ncolour = 1", "[presets.\"p\"] has unknown key 'colour'"),
        ('[presets."p"]\nlanes = ["demo:demo-fast"]', '[presets."p"] lanes[0] must be a table'),
        ('[presets."p"]\nlanes = [{ provider = "demo" }]', "lanes[0] model must be a non-empty string"),
        ('[presets."p"]\nlanes = [{ model = "m" }]', "lanes[0] provider must be a provider's name"),
        ('[presets."p"]\nlanes = [{ provider = "a:b", model = "m" }]', "provider must be a provider's name"),
        (
            '[presets."p"]\nlanes = [' + LANE + ', { provider = "demo", model = "m", x = 1 }]',
            "lanes[1] has unknown key 'x'",
        ),
        ('[presets."p"]\nlanes = [{ provider = "demo", model = "m", label = 3 }]', "label must be a string"),
        ('[presets."p"]\nlanes = [{ provider = "demo", model = "m", params = 3 }]', "params must be a table"),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { top_k = 3 } }]',
            "unknown key 'top_k'",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { max_output_tokens = true } }]',
            "params max_output_tokens must be an integer, got True",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { temperature = "hot" } }]',
            "params temperature must be a number",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { temperature = nan } }]',
            "must be a finite number",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { temperature = 2.5 } }]',
            "lanes[0] params: temperature must be between 0 and 2",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { think = "always" } }]',
            "think must be one of prompted",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { think = true } }]',
            "params think must be a string",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { reasoning_effort = "x" } }]',
            "reasoning effort must be one of",
        ),
        (
            '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = '
            "{ thinking_budget = 8000, max_output_tokens = 4000 } }]",
            "max output tokens must be larger than the thinking budget",
        ),
        ('[presets."bad\\u0007name"]\nlanes = [' + LANE + "]", "must not contain control characters"),
        ('[presets.""]\nlanes = [' + LANE + "]", "a preset needs a name"),
    ],
)
def test_bad_presets_in_config_toml_are_one_clear_line(home: Path, text: str, needle: str) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert needle in message and "\n" not in message and "config.toml" in message


def test_an_integer_temperature_is_read_as_a_number(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        '[presets."p"]\nlanes = [{ provider = "d", model = "m", params = { temperature = 1 } }]\n'
    )
    (lane,) = load_config().presets["p"]
    assert lane.params.temperature == 1.0 and isinstance(lane.params.temperature, float)
    assert "temperature = 1.0" in dump_config(load_config())

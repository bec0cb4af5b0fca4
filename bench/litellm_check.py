"""The LiteLLM proxy check (issue 24), as a script: one line per case, then JSON.

chatlab through a real LiteLLM proxy in front of its loopback demo server: a streaming
answer on each of the proxy's Chat Completions, Responses and Anthropic Messages
endpoints, then a 404, a 5xx, a stream cut short, an unknown model and a body that is no
event stream (the cases and their checks: ``tests/providers/litellm_proxy.py``; under
pytest: ``-m litellm tests/providers/test_litellm_proxy.py``). LiteLLM is not chatlab's
dependency; install it in a venv of its own and name its script::

    python3.12 -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install 'litellm[proxy]'
    CHATLAB_LITELLM=/tmp/litellm-venv/bin/litellm .venv/bin/python bench/litellm_check.py

Exits 0 when every case is as it should be, 1 when one isn't, 2 with no litellm.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.providers.litellm_proxy import CASES, find_litellm, litellm_version, started  # noqa: E402


def main() -> int:
    exe = find_litellm()
    if exe is None:
        print("no litellm: set CHATLAB_LITELLM=/path/to/litellm or put litellm on PATH", file=sys.stderr)
        return 2
    version = litellm_version(exe)
    t0 = time.monotonic()
    with started(exe) as check:
        ready = time.monotonic() - t0
        print(f"litellm {version} ({exe}), ready in {ready:.1f} s")
        outcomes = []
        for _, case in CASES:
            out = case(check)
            print(out.line(), flush=True)
            outcomes.append(out)
    summary = {
        "litellm": version,
        "ready_s": round(ready, 2),
        "cases": [vars(o) | {"ok": o.ok} for o in outcomes],
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

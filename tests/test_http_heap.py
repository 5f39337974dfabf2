"""Tail latency at a team's pace (issue 16): what a long-running HTTP server would otherwise do in
the middle of someone's call is done at start.

- The X text parser (0.2-0.6 s to import and compile, lazily loaded so stdio starts fast) is
  loaded before serving, so the first post does not stall every other caller.
- The heap is frozen again once the lifespan has started (the Late client, its TLS context, the
  journal), so full collections do not walk what lives as long as the process.

Each runs in a fresh process (real `serve_http`; uvicorn's run is the boundary replaced), so
nothing imported by other tests can make it pass. No timings are asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from test_http_transports import clean_env

PROBE = textwrap.dedent(
    """
    import gc, json, sys
    import anyio, uvicorn
    from late_mcp.config.http import HttpSettings
    from late_mcp.config.settings import Settings
    from late_mcp.transports import serving

    seen = {}

    def run(self, sockets=None):
        seen["parser loaded before serving"] = "twitter_text" in sys.modules
        seen["heap frozen before serving"] = gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()

        async def lifespan():
            stop = anyio.Event()
            asked = []

            async def receive():
                if not asked:
                    asked.append(1)
                    return {"type": "lifespan.startup"}
                await stop.wait()
                return {"type": "lifespan.shutdown"}

            async def send(message):
                if message["type"] == "lifespan.startup.complete":
                    seen["more frozen once started"] = gc.get_freeze_count() > frozen
                    stop.set()

            await self.config.app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

        anyio.run(lifespan)

    uvicorn.Server.run = run
    serving.signal.signal = lambda *_: None
    settings = Settings.from_env(sandbox=True)
    code = serving.serve_http(settings, HttpSettings(transport="http", port=0))
    seen["exit"] = code
    seen["parser loaded after serving"] = "twitter_text" in sys.modules
    print(json.dumps(seen))
    """
)


def test_http_serving_loads_the_text_parser_and_freezes_what_start_up_opened() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {
        "parser loaded before serving": True,
        "heap frozen before serving": True,
        "more frozen once started": True,
        "exit": 0,
        "parser loaded after serving": True,
    }, proc.stderr


def test_stdio_still_loads_the_text_parser_only_when_a_post_needs_it() -> None:
    probe = (
        "import sys, late_mcp.transports.serving, late_mcp.server.build; print('twitter_text' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=clean_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr

"""Where one call's CPU goes: py-spy samples of a server under wrk, each given to one step.

``bench/run.py --profile`` uses it on the gateway (Redis, forwarding) and on its refusals.
py-spy (on PyPI: ``pip install py-spy``) samples the server's Python stacks; each sample
goes to the first step in ``STEPS`` that any frame of its stack belongs to, and a step's
share of the samples, times the server's CPU per request measured over the same run, is
its microseconds. A sample of a native call (a socket write) counts for the Python frame
that made it, so the steps hold system time too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from servers import BenchError, cpu_seconds
from wrk import run_wrk

SAMPLES_PER_SECOND = 500
# The frames every sample of the gateway has at its root: they say nothing of a step.
ROOT_FILES = ("<frozen runpy>", "gateway/__main__.py", "gateway/cli.py", "asyncio/runners.py")
AIOHTTP_CLIENT_FILES = (
    "aiohttp/client.py",
    "aiohttp/client_reqrep.py",
    "aiohttp/connector.py",
    "aiohttp/client_proto.py",
)


@dataclass(frozen=True)
class Frame:
    function: str
    file: str


Stack = tuple[Frame, ...]


def _files(*prefixes: str) -> Callable[[Stack], bool]:
    return lambda stack: any(frame.file.startswith(prefixes) for frame in stack)


def _upstream_client(stack: Stack) -> bool:
    files = {frame.file for frame in stack}
    if files.intersection(AIOHTTP_CLIENT_FILES):
        return True
    # The answer's stream is aiohttp's on both sides: under Upstream.forward it is the client's.
    return "aiohttp/streams.py" in files and "gateway/upstream.py" in files


def _own_code(stack: Stack) -> bool:
    # The listener (gateway/server/) is aiohttp's server with guards: counted with it.
    return any(
        frame.file.startswith("gateway/")
        and frame.file not in ROOT_FILES
        and not frame.file.startswith("gateway/server/")
        for frame in stack
    )


# In order: a sample goes to the first step that claims it.
STEPS: tuple[tuple[str, Callable[[Stack], bool]], ...] = (
    ("upstream client (aiohttp): send the call, read the answer", _upstream_client),
    ("quota: one EVALSHA round trip to Redis", _files("gateway/quota/")),
    ("access line", _files("gateway/support/logs.py", "logging/")),
    ("metrics (prometheus-client)", _files("gateway/support/metrics.py", "prometheus_client/")),
    ("authentication: token and member", _files("gateway/tokens/", "gateway/policy/auth.py")),
    (
        "aiohttp server: write the answer",
        _files("aiohttp/http_writer.py", "aiohttp/web_response.py"),
    ),
    ("forwarding: headers, URL, the response object", _files("gateway/upstream.py")),
    # aiohttp's server frames are at the root of every handler's stack: own code goes first.
    ("request path: classify, decide, checks, headers", _own_code),
    (
        "listener: read, parse, request object, routing",
        _files("aiohttp/", "gateway/server/", "aiosignal/", "multidict/", "yarl/"),
    ),
)
REST = "event loop (uvloop) and the rest"


def parse_frame(text: str) -> Frame:
    """``handle (gateway/http/handler.py:92)`` -> Frame("handle", "gateway/http/handler.py")."""
    function, _, where = text.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0] if where else ""
    return Frame(function, file)


def attribute(raw: Iterable[str]) -> dict[str, int]:
    """Samples per step from py-spy's ``raw`` output (``frame;frame;... count`` lines)."""
    counts = {name: 0 for name, _ in STEPS} | {REST: 0}
    for line in raw:
        stack_text, _, number = line.rstrip("\n").rpartition(" ")
        if not stack_text or not number.isdigit():
            continue
        stack = tuple(parse_frame(frame) for frame in stack_text.split(";"))
        step = next((name for name, claims in STEPS if claims(stack)), REST)
        counts[step] += int(number)
    return counts


@dataclass
class Profile:
    target: str
    cpu_us_per_request: float
    samples: dict[str, int]

    def microseconds(self) -> dict[str, float]:
        total = sum(self.samples.values())
        if total == 0:
            return dict.fromkeys(self.samples, 0.0)
        return {
            step: self.cpu_us_per_request * count / total for step, count in self.samples.items()
        }


def py_spy_binary() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile(
    target: str,
    pid: int,
    url: str,
    headers: Mapping[str, str],
    seconds: float,
    connections: int,
) -> Profile:
    """Sample ``pid`` for ``seconds`` while wrk loads ``url``."""
    spy = py_spy_binary()
    if spy is None:
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    whole = max(int(seconds), 1)
    with tempfile.TemporaryDirectory(prefix="gateway-profile-") as workdir:
        out = Path(workdir) / "raw.txt"
        argv = [spy, "record", "-r", str(SAMPLES_PER_SECOND), "-f", "raw", "-o", str(out)]
        argv += ["-d", str(whole + 1), "--pid", str(pid)]
        sampler = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        before = cpu_seconds(pid)
        report = run_wrk(url, dict(headers), seconds=whole, connections=connections)
        after = cpu_seconds(pid)
        _, error = sampler.communicate(timeout=whole + 30)
        if sampler.returncode != 0 or not out.exists():
            reason = error.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise BenchError(f"py-spy failed on {target}: {reason[0]}")
        samples = attribute(out.read_text().splitlines())
    if before is None or after is None or not report.requests:
        raise BenchError(f"no CPU figure for {target}")
    return Profile(target, (after - before) / report.requests * 1e6, samples)


def render(profiles: Iterable[Profile]) -> str:
    """One table: a column of microseconds (and share) per profiled target."""
    profiles = list(profiles)
    if not profiles:
        return ""
    heads = " | ".join(f"{p.target}: µs (share)" for p in profiles)
    lines = [f"| step | {heads} |", "|---|" + "---:|" * len(profiles)]
    spent = [p.microseconds() for p in profiles]
    for step in [name for name, _ in STEPS] + [REST]:
        cells = []
        for p, us in zip(profiles, spent, strict=True):
            total = sum(p.samples.values()) or 1
            cells.append(f"{us[step]:.0f} ({100 * p.samples[step] / total:.0f} %)")
        lines.append(f"| {step} | {' | '.join(cells)} |")
    totals = " | ".join(f"**{p.cpu_us_per_request:.0f}**" for p in profiles)
    lines.append(f"| CPU per call, from /proc | {totals} |")
    return "\n".join(lines)

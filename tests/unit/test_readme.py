"""README.md stays true: the CI runs its test command, and it lists every reason code and metric."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def sh_blocks() -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", README, flags=re.S)]


def test_readme_opens_with_install_and_test_commands() -> None:
    first, second = sh_blocks()[:2]
    assert "linkedin-gateway serve" in first
    assert "pytest" in second


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == sh_blocks()[1]


def reason_codes_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        text = path.read_text()
        found.update(re.findall(r'reason\s*=\s*"([a-z_]+)"', text))
        found.update(re.findall(r'^\s+reason = "([a-z_]+)"', text, flags=re.M))
        found.update(re.findall(r'_(?:forbidden|unauthorized)\(\s*"([a-z_]+)"', text))
        found.update(re.findall(r'\(\s*"[A-Z_]+",\s*"([a-z_]+)"\s*\)', text))
    found.discard("upstream_error")
    return found


def test_every_reason_code_is_documented() -> None:
    codes = reason_codes_in_code()
    assert {"missing_token", "insufficient_scope", "member_quota_exhausted"} <= codes
    table = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.M))
    assert codes - table == set()


def exposed() -> dict[str, str]:
    """Every metric family a gateway exposes, with its help text, as Prometheus reads it."""
    from gateway.metrics import Metrics

    text = Metrics(("some-app",)).render()
    return dict(re.findall(r"^# HELP (\S+) (.*)$", text, flags=re.M))


def metrics_table() -> set[str]:
    section = README.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.M))


def test_every_metric_is_documented() -> None:
    from gateway.metrics import SPECS, WORKER_SPECS

    declared = {spec.name for spec in SPECS + WORKER_SPECS}
    families = {name for name in exposed() if name.startswith("gateway_")}
    # The registry is what is exposed: nothing declared goes missing, nothing undeclared appears.
    assert {"gateway_request_duration_seconds", "gateway_build_info"} <= families
    assert families <= declared
    table = metrics_table()
    assert declared - table == set()
    assert {name for name in table if name.startswith("gateway_")} - declared == set()
    # prometheus-client's own families are named in the section too.
    assert {"process_resident_memory_bytes", "python_info"} <= set(exposed())
    assert "process_" in README.split("## Metrics", 1)[1].split("\n## ", 1)[0]


def test_every_metric_in_use_has_help_text() -> None:
    from gateway.metrics import HELP

    used: set[str] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        used.update(
            re.findall(r'"(gateway_[a-z_]+_(?:total|seconds|info|bytes))"', path.read_text())
        )
    assert "gateway_requests_total" in used
    assert used - set(HELP) == set()
    helps = exposed()
    for name in HELP:
        assert len(HELP[name]) > 10, name
    for name, text in helps.items():
        assert text and text != name, name

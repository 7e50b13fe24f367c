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


def test_every_metric_is_documented() -> None:
    text = (ROOT / "gateway" / "metrics.py").read_text()
    names = set(re.findall(r'"(gateway_[a-z_]+)"', text))
    assert names
    for name in names:
        base = name.removesuffix("_sum").removesuffix("_count")
        assert base in README, name


def test_every_metric_in_use_has_help_text() -> None:
    from gateway.metrics import HELP

    used: set[str] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        used.update(
            re.findall(r'"(gateway_[a-z_]+_total|gateway_[a-z_]+_(?:sum|count))"', path.read_text())
        )
    assert used
    assert used - set(HELP) == set()

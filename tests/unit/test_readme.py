"""README.md and docs/ stay true: the CI runs the README's test command, the reference in
docs/ lists every reason code, gateway header and metric, and the README links every
reference document."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
HTTP_REFERENCE = (DOCS / "http.md").read_text()
OPERATIONS = (DOCS / "operations.md").read_text()


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
    section = HTTP_REFERENCE.split("## Errors and reason codes", 1)[1].split("\n## ", 1)[0]
    table = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert codes - table == set()


def test_every_gateway_header_is_documented() -> None:
    # Webhook receivers and clients match these names exactly: a rename in the code alone
    # breaks them.
    named: set[str] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        named.update(re.findall(r'"(X-Gateway-[A-Za-z-]+)"', path.read_text()))
    assert {"X-Gateway-Reason", "X-Gateway-Delivery-Attempt"} <= named
    table = set(re.findall(r"^\| `(X-Gateway-[A-Za-z-]+)` \|", HTTP_REFERENCE, flags=re.M))
    assert named - table == set()


def test_the_readme_links_every_reference_document() -> None:
    documents = {path.name for path in DOCS.glob("*.md")}
    assert {"http.md", "operations.md", "configuration.md", "cli.md"} <= documents
    linked = set(re.findall(r"\]\(docs/([a-z-]+\.md)\)", README))
    assert documents - linked == set()
    for name in linked:
        assert (DOCS / name).is_file(), name


def exposed() -> dict[str, str]:
    """Every metric family a gateway exposes, with its help text, as Prometheus reads it."""
    from gateway.support.metrics import Metrics

    text = Metrics(("some-app",)).render()
    return dict(re.findall(r"^# HELP (\S+) (.*)$", text, flags=re.M))


def metrics_table() -> set[str]:
    section = OPERATIONS.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.M))


def test_every_metric_is_documented() -> None:
    from gateway.support.metrics import SPECS, WORKER_SPECS

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
    assert "process_" in OPERATIONS.split("## Metrics", 1)[1].split("\n## ", 1)[0]


def test_every_metric_in_use_has_help_text() -> None:
    from gateway.support.metrics import HELP

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

"""The command line's own surface: --help and the environment, `init`, docs/cli.md."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from gateway.cli import ENVIRONMENT, main
from gateway.settings.loader import ENV_CONFIG, ENV_OVERRIDES, load_settings

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def starter_text() -> str:
    return (resources.files("gateway") / "_data" / "starter.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_lists_every_environment_variable(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "a flag beats the environment, which beats the config file" in out
    for name, text in ENVIRONMENT.items():
        assert re.search(rf"^  {name} +{re.escape(text)}$", out, re.M), name


def test_serve_help_shows_every_override_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for flag in ("--listen HOST:PORT", "--admin-listen HOST:PORT|off", "--store URL",
                 "--upstream URL", "--config CONFIG"):  # fmt: skip
        assert flag in out


def test_the_registry_holds_what_the_loader_and_the_loop_read() -> None:
    assert {ENV_CONFIG, *ENV_OVERRIDES.values(), "GATEWAY_EVENT_LOOP"} == set(ENVIRONMENT)


def readme_section(title: str) -> str:
    """From ``title`` to the next heading of the same or a higher level."""
    text = CLI_DOC.read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n") + len(title) + 2
    level = len(title.split(" ")[0])
    end = re.search(rf"^#{{1,{level}}} ", text[start:], re.M)
    return text[start : start + end.start()] if end else text[start:]


def test_readme_documents_every_environment_variable() -> None:
    section = readme_section("### Environment variables")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section, re.M))
    assert documented == set(ENVIRONMENT)


def test_readme_cli_table_names_every_command() -> None:
    section = readme_section("## CLI")
    for command in ("serve", "check-config", "init", "catalog", "sandbox", "ad-accounts list",
                    "ad-accounts reset"):  # fmt: skip
        assert f"`linkedin-gateway {command}" in section, command
    for flag in ("--listen", "--admin-listen", "--store", "--upstream", "--force", "--yes"):
        assert flag in section, flag


# -- init --------------------------------------------------------------------------------


def test_init_writes_a_commented_starter_that_passes_check_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    written = tmp_path / "gateway.yaml"
    assert written.read_text(encoding="utf-8") == starter_text()
    assert "check-config gateway.yaml" in capsys.readouterr().out
    comments = [line for line in starter_text().splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 10
    assert main(["check-config", str(written)]) == 0
    assert ": ok (1 apps, 1 static tokens" in capsys.readouterr().out
    # Loadable without a single environment variable: it runs as written.
    settings = load_settings(str(written), environ={})
    assert settings.upstream == "sandbox" and settings.store == "memory://"


def test_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("listen: 127.0.0.1:1\n", encoding="utf-8")
    assert main(["init", str(target)]) == 1
    assert capsys.readouterr().err == (
        f"linkedin-gateway init: {target} exists; --force overwrites it\n"
    )
    assert target.read_text(encoding="utf-8") == "listen: 127.0.0.1:1\n"
    assert main(["init", str(target), "--force"]) == 0
    assert target.read_text(encoding="utf-8") == starter_text()


def test_init_dash_prints_the_starter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "-"]) == 0
    assert capsys.readouterr().out == starter_text()


def test_init_into_a_missing_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "gateway.yaml"
    assert main(["init", str(target)]) == 1
    assert capsys.readouterr().err == (
        f"linkedin-gateway init: cannot write {target}: No such file or directory\n"
    )

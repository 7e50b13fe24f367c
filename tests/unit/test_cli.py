"""The command line: check-config, catalog, usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main


def test_check_config_ok_on_the_shipped_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert ": ok (2 apps, 3 static tokens" in out


def test_check_config_prints_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("listn: 1\napps: {a: {client_id: x, client_secret: y, products: {nope: {}}}}\n")
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"error: {path}: listn: unknown key" in err
    assert f"error: {path}: apps.a.products.nope: unknown product" in err
    assert "2 problem(s) found" in err


def test_catalog_prints_products_permissions_tiers_routes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    for needle in ("community_management", "rw_dmp_segments", "development", "/rest/posts"):
        assert needle in out


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--no-such-flag"])
    assert caught.value.code == 2


def test_python_dash_m_gateway_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert ": ok (" in done.stdout

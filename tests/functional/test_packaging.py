"""The built package carries its catalog, demo config and Lua: what `pip install .` and the
Docker image rely on, checked from a directory far from the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (
    "gateway/_data/catalog.yaml",
    "gateway/_data/gateway.yaml",
    "gateway/_data/starter.yaml",
    "gateway/quota/consume.lua",
)


@pytest.mark.timeout(180)
def test_wheel_ships_data_files_and_works_from_anywhere(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("linkedin_gateway-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in SHIPPED:
            assert path in names
        # The symlinked files arrive as their contents, not as links.
        assert (
            archive.read("gateway/_data/catalog.yaml")
            == (ROOT / "config" / "catalog.yaml").read_bytes()
        )
        archive.extractall(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checked = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config"],
        cwd=elsewhere,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert str(tmp_path / "site" / "gateway" / "_data" / "gateway.yaml") in checked.stdout
    # `init` writes the starter from the installed package, and it checks out as written.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "site")}
    for command in (["init"], ["check-config", "gateway.yaml"]):
        done = subprocess.run(
            [sys.executable, "-m", "gateway", *command],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert (elsewhere / "gateway.yaml").read_bytes() == (
        ROOT / "gateway" / "_data" / "starter.yaml"
    ).read_bytes()

"""The hashed lock files agree with pyproject.toml, and every install path uses them.

A fresh machine installs exactly what ``requirements/*.lock`` pins; these tests fail as soon
as ``pyproject.toml`` asks for something the locks do not hold (refresh with ``scripts/lock``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
TEST_LOCK = ROOT / "requirements" / "test.lock"
# pip-compile's note for a package pyproject.toml asks for itself.
FROM_PYPROJECT = "linkedin-gateway (pyproject.toml)"


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int
    direct: bool


def read_lock(path: Path) -> dict[str, Pin]:
    """Each pinned package of a pip-compile lock, with its hash count and whether
    pyproject.toml names it directly."""
    pins: dict[str, Pin] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", block)
        if head is None:
            continue
        pins[canonicalize_name(head.group(1))] = Pin(
            version=Version(head.group(2)),
            hashes=len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block)),
            direct=FROM_PYPROJECT in block,
        )
    return pins


def requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    for extra in extras:
        found += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return found


def build_requirements() -> list[Requirement]:
    return [Requirement(text) for text in PYPROJECT["build-system"]["requires"]]


LOCKS = {
    "runtime": (RUNTIME_LOCK, requirements()),
    "test": (TEST_LOCK, requirements("test", "dev")),
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_declared_dependency_is_pinned_within_its_range(lock: str) -> None:
    path, wanted = LOCKS[lock]
    pins = read_lock(path)
    for requirement in wanted + build_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in {path.name}: run scripts/lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{path.name} pins {requirement.name}=={pin.version}, outside {requirement}"
        )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_nothing_is_pinned_for_a_dependency_pyproject_dropped(lock: str) -> None:
    path, wanted = LOCKS[lock]
    declared = {canonicalize_name(r.name) for r in wanted + build_requirements()}
    stale = {name for name, pin in read_lock(path).items() if pin.direct} - declared
    assert stale == set(), f"{path.name} still pins {stale} for pyproject.toml: run scripts/lock"


@pytest.mark.parametrize("path", [RUNTIME_LOCK, TEST_LOCK], ids=lambda p: p.name)
def test_every_pin_carries_hashes(path: Path) -> None:
    pins = read_lock(path)
    assert len(pins) >= 10
    assert {name for name, pin in pins.items() if pin.hashes == 0} == set()


def test_the_test_lock_uses_the_runtime_pins() -> None:
    runtime, test = read_lock(RUNTIME_LOCK), read_lock(TEST_LOCK)
    differ = {
        name: (pin.version, test[name].version)
        for name, pin in runtime.items()
        if name in test and test[name].version != pin.version
    }
    assert differ == {}
    assert set(runtime) <= set(test)


def test_the_reader_sees_a_disagreement() -> None:
    # The checks above are only as good as the parser: a pin outside its range must show.
    pins = read_lock(RUNTIME_LOCK)
    aiohttp = pins[canonicalize_name("aiohttp")]
    assert aiohttp.direct and aiohttp.hashes > 0
    too_new = Requirement(f"aiohttp>{aiohttp.version}")
    assert not too_new.specifier.contains(aiohttp.version)


def install_lines() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    run, test = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)[:2]
    return {
        "README run command": run,
        "README test command": test,
        ".ci/run": (ROOT / ".ci" / "run").read_text(),
        "Dockerfile": (ROOT / "Dockerfile").read_text(),
    }


@pytest.mark.parametrize("where", sorted(install_lines()))
def test_every_install_path_installs_from_a_lock_with_hashes(where: str) -> None:
    text = install_lines()[where]
    installs = [line for line in re.split(r"&&|\n", text) if "pip install" in line]
    assert installs, where
    for line in installs:
        locked = "--require-hashes" in line and ".lock" in line
        own_package_only = "--no-deps" in line and "--no-build-isolation" in line
        assert locked or own_package_only, f"{where}: unlocked install: {line.strip()}"
    assert any("--require-hashes" in line for line in installs), where

"""Headless Chromium (Debian's ``chromium`` package) for tests that look at a page."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

RUN_TIMEOUT_SECONDS = 120.0


def chromium_binary() -> str:
    """The browser; a missing one fails the test on CI (``.ci/run`` installs it) and skips
    it elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is not None:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium)")


async def run_chromium(profile: Path, *args: str) -> bytes:
    """Run headless Chromium with a throw-away profile; its standard output."""
    process = await asyncio.create_subprocess_exec(
        chromium_binary(),
        "--headless",
        # Root on CI: Chromium's own sandbox needs user namespaces it may not have.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out

"""Start-up as an operator meets it, in real processes: every failure is one line on stderr
and exit 1 or 2, never a traceback; flags beat the environment; the demo's OAuth callback
follows the listen address."""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.functional.cli_process import API, clean_env, get, listening_socket, run_cli, serving
from tests.redis_server import free_port


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_bare_command_prints_usage_and_exits_2_without_serving() -> None:
    done = run_cli([])
    assert done.returncode == 2
    assert done.stdout == ""  # no demo banner: nothing was started
    assert done.stderr.startswith("usage: linkedin-gateway ")
    assert "a command is required; `linkedin-gateway serve` runs the gateway" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("listener", "flag"), [("main", "--listen"), ("admin", "--admin-listen")])
def test_a_port_in_use_is_one_line_naming_the_listener(listener: str, flag: str) -> None:
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        other = "--admin-listen" if flag == "--listen" else "--listen"
        done = run_cli(["serve", flag, f"127.0.0.1:{port}", other, "127.0.0.1:0"])
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith(f"linkedin-gateway: {listener} listener: cannot listen on ")
    assert f"127.0.0.1:{port}" in line
    assert line.endswith(": address already in use")


def test_a_flag_beats_the_environment() -> None:
    # The environment names a port in use; the flag's port 0 is what serve must bind.
    with listening_socket() as taken:
        env = clean_env(GATEWAY_LISTEN=f"127.0.0.1:{taken.getsockname()[1]}")
        with serving(["--listen", "127.0.0.1:0", "--admin-listen", "off"], env) as running:
            status, body = get(f"http://127.0.0.1:{running.port}{API}", "demo-alice")
            assert status == 200, body
    assert running.proc.returncode == 0


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (None, "cannot read: No such file or directory"),
        ("directory", "cannot read: Is a directory"),
        (b"listen: 127.0.0.1:0\n# caf\xe9\n", "cannot read: not UTF-8 text"),
        (b"store: memory://\nstore: redis://127.0.0.1:6379/0\n", "store: duplicate key"),
        (b"listen: [1\n", "not valid YAML"),
        (b"catalog: missing-catalog.yaml\n", "missing-catalog.yaml: cannot read"),
    ],
)
def test_config_problems_are_one_line_each_and_exit_1(
    tmp_path: Path, write: bytes | str | None, expected: str
) -> None:
    path = tmp_path / "gateway.yaml"
    if write == "directory":
        path.mkdir()
    elif isinstance(write, bytes):
        path.write_bytes(write)
    for command in (["serve", "--config", str(path)], ["check-config", str(path)]):
        done = run_cli(command)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ")
        assert expected in done.stderr.splitlines()[0]


def test_a_store_unreachable_at_start_is_one_line_without_its_password() -> None:
    port = free_port()
    done = run_cli(["serve", "--store", f"redis://ops:hunter2@127.0.0.1:{port}/0"])
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith(f"linkedin-gateway: store redis://ops:***@127.0.0.1:{port}/0 ")
    assert "unreachable at start" in line
    assert "hunter2" not in done.stderr


def test_with_on_store_error_open_a_missing_store_is_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "open.yaml"
    config.write_text(
        "listen: 127.0.0.1:0\nadmin_listen: off\non_store_error: open\n"
        "apps:\n  a:\n    client_id: c-a\n    client_secret: s-a\n"
        "    products: {community_management: {tier: development}}\n"
        "tokens:\n  - {token: tok-a, app: a, member: 'urn:li:person:a',"
        " scopes: [r_organization_social, rw_organization_admin]}\n",
        encoding="utf-8",
    )
    port = free_port()
    store = f"redis://:hunter2@127.0.0.1:{port}/0?password=hunter3"
    with serving(["--config", str(config), "--store", store]) as running:
        # Admitted uncounted, as on_store_error: open promises.
        status, body = get(f"http://127.0.0.1:{running.port}{API}", "tok-a")
        assert status == 200, body
    err = "".join(running.stderr_lines)
    assert running.proc.returncode == 0
    assert "unreachable at start" in err and "starting anyway (on_store_error: open)" in err
    assert f"store redis://:***@127.0.0.1:{port}/0?password=***" in err
    assert "hunter2" not in err and "hunter3" not in err
    assert "Traceback" not in err


def test_sandbox_port_in_use_is_one_line() -> None:
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        done = run_cli(["sandbox", "--port", str(port)])
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"linkedin-gateway sandbox: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def test_sandbox_bad_port_is_a_usage_error() -> None:
    done = run_cli(["sandbox", "--port", "70000"])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "argument --port: must be a port number 0-65535, not '70000'" in done.stderr


def test_the_demo_oauth_callback_follows_the_listen_address() -> None:
    # Port 0: the callback must name the port the kernel gave, or LinkedIn (here the
    # sandbox) would send the member to a port nobody listens on.
    with serving(["--listen", "127.0.0.1:0", "--admin-listen", "off"]) as running:
        base = f"http://127.0.0.1:{running.port}"
        query = urllib.parse.urlencode(
            {
                "app": "acme-social",
                "scope": "openid r_organization_social rw_organization_admin",
                "state": "xyz",
            }
        )

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as first:
            opener.open(f"{base}/oauth/authorize?{query}", timeout=20)
        # The error holds the open response: close it, or its socket leaks into later tests.
        first.value.close()
        assert first.value.code == 302
        location = urllib.parse.urlsplit(first.value.headers["Location"])
        redirect = urllib.parse.parse_qs(location.query)["redirect_uri"]
        assert redirect == [f"{base}/oauth/callback"]

        # The whole round trip: sandbox consent, back to this gateway, token delivered, in
        # one browser (its cookie binds the flow; a plain-http callback gets no Secure one).
        member = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with member.open(f"{base}/oauth/authorize?{query}", timeout=20) as resp:
            status, page = resp.status, resp.read()
        assert status == 200, page
        found = re.search(rb'name="access_token" value="([^"]+)"', page)
        assert found is not None, page
        token = html.unescape(found.group(1).decode())
        status, body = get(f"{base}{API}", token)
        assert status == 200, body
        assert json.loads(body)["elements"]
    assert f"on http://127.0.0.1:{running.port} -> built-in sandbox" in running.stdout


def test_the_starter_from_init_serves_as_written(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    assert run_cli(["init", str(config)]).returncode == 0
    with serving(
        ["--config", str(config), "--listen", "127.0.0.1:0", "--admin-listen", "off"]
    ) as running:
        status, body = get(f"http://127.0.0.1:{running.port}{API}", "try-me")
        assert status == 200, body
    assert running.proc.returncode == 0
    assert running.stdout == ""  # not the demo: no demo banner

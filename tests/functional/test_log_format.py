"""`log_format: json` from a real `serve`: every stderr line an object with a UTC time, the
access line's fields as members (request id and LinkedIn's x-li-uuid among them)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings.loader import load_settings
from gateway.settings.model import LogFormat
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.serve_process import answering, free_port, launched, stop, wait_listening

UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_serve_writes_json_lines(tmp_path: Path) -> None:
    port, admin = free_port(), free_port()
    text = gateway_yaml("sandbox", extra="log_format: json").replace(
        "listen: 127.0.0.1:0\nadmin_listen: null",
        f"listen: 127.0.0.1:{port}\nadmin_listen: 127.0.0.1:{admin}",
    )
    config = write_config(tmp_path, text)
    with launched(["--config", config]) as proc:
        wait_listening(port, proc)
        answering(admin, proc)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/rest/organizationAcls?q=roleAssignee",
            headers={
                "Authorization": f"Bearer {member_token(2)}",
                "LinkedIn-Version": "202505",
                "X-Request-Id": "json-test-1",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            assert resp.status == 200
            li_uuid = resp.headers["x-li-uuid"]
        _, err = stop(proc)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert UTC_TIME.match(line["time"]), line
        assert {"level", "logger"} <= set(line)
    [access] = [line for line in lines if line["logger"] == "gateway.access"]
    assert access["request_id"] == "json-test-1"
    assert access["li_uuid"] == li_uuid
    assert access["status"] == 200 and access["path"] == "/rest/organizationAcls"
    assert any("listening on" in line.get("message", "") for line in lines)


@pytest.mark.parametrize(("given", "expected"), [("json", LogFormat.JSON), (None, LogFormat.TEXT)])
def test_log_format_setting(tmp_path: Path, given: str | None, expected: LogFormat) -> None:
    extra = f"log_format: {given}" if given else ""
    settings = load_settings(write_config(tmp_path, gateway_yaml("sandbox", extra=extra)))
    assert settings.log_format is expected


def test_an_unknown_log_format_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, gateway_yaml("sandbox", extra="log_format: xml")))
    assert any("log_format" in str(p) and "text, json" in str(p) for p in caught.value.problems)

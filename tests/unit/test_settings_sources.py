"""Where a setting comes from and how a file is read: flags, environment, file; duplicate
keys, quoted dates, unreadable files, the {listen} placeholder, secrets not required."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings.loader import default_config_path, load_settings

BASE = """\
listen: 127.0.0.1:9000
admin_listen: 127.0.0.1:9001
upstream: sandbox
store: memory://
apps:
  social:
    client_id: c-social
    client_secret: s-social
    products:
      community_management: {tier: development, since: 2026-06-01}
tokens:
  - {token: tok-a, app: social, member: 'urn:li:person:a', scopes: [r_organization_social]}
"""


def write(tmp_path: Path, text: str, name: str = "gateway.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def problems(path: str, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in caught.value.problems]


# -- flags beat environment beat file ------------------------------------------------------


def test_a_flag_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    env = {"GATEWAY_LISTEN": "127.0.0.1:9100", "GATEWAY_STORE": "redis://127.0.0.1:6379/3"}
    from_env = load_settings(path, environ=env)
    assert str(from_env.listen) == "127.0.0.1:9100"
    assert from_env.store == "redis://127.0.0.1:6379/3"
    assert str(from_env.admin_listen) == "127.0.0.1:9001"  # the file's: nothing overrode it

    flags = {"listen": "127.0.0.1:9200", "upstream": "http://127.0.0.1:9300/"}
    from_flags = load_settings(path, environ=env, overrides=flags)
    assert str(from_flags.listen) == "127.0.0.1:9200"
    assert from_flags.upstream == "http://127.0.0.1:9300"
    assert from_flags.store == "redis://127.0.0.1:6379/3"  # no flag: the environment's


@pytest.mark.parametrize(
    ("file_value", "env", "flags"),
    [
        ("null", {}, {}),
        ("off", {}, {}),  # YAML 1.1 reads it as false
        ("127.0.0.1:9001", {"GATEWAY_ADMIN_LISTEN": "off"}, {}),
        ("127.0.0.1:9001", {}, {"admin_listen": "off"}),
    ],
)
def test_admin_listener_turned_off(
    tmp_path: Path, file_value: str, env: dict[str, str], flags: dict[str, str]
) -> None:
    path = write(
        tmp_path, BASE.replace("admin_listen: 127.0.0.1:9001", f"admin_listen: {file_value}")
    )
    assert load_settings(path, environ=env, overrides=flags).admin_listen is None


def test_a_bad_override_names_where_it_came_from(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert problems(path, environ={"GATEWAY_LISTEN": "nowhere"}) == [
        f"{path}: listen: must be HOST:PORT (port 0-65535), not 'nowhere' (set by GATEWAY_LISTEN)"
    ]
    found = problems(path, environ={}, overrides={"store": "mongodb://x"})
    assert len(found) == 1
    assert found[0].startswith(f"{path}: store: unknown store scheme 'mongodb'")
    assert found[0].endswith("(set by --store)")


# -- duplicate keys ----------------------------------------------------------------------


def test_a_repeated_top_level_key_is_an_error_not_the_last_one_winning(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "store: redis://127.0.0.1:6379/0\n")
    assert problems(path, environ={}) == [
        f"{path}: store: duplicate key (first at line 4, again at line 13): "
        "YAML would silently keep the last; remove one"
    ]


def test_every_repeated_key_is_named_by_its_key_path(tmp_path: Path) -> None:
    text = BASE.replace(
        "    client_secret: s-social\n",
        "    client_secret: s-social\n    client_id: c-other\n",
    ).replace(
        "member: 'urn:li:person:a',",
        "member: 'urn:li:person:a', app: social,",
    )
    path = write(tmp_path, text)
    found = problems(path, environ={})
    assert [p.split(": duplicate key")[0] for p in found] == [
        f"{path}: apps.social.client_id",
        f"{path}: tokens[0].app",
    ]
    assert "(first at line 7, again at line 9)" in found[0]
    assert "(first at line 13, again at line 13)" in found[1]  # flow style: one line


def test_merge_keys_may_still_override(tmp_path: Path) -> None:
    # A YAML anchor merged into another product: the product's own tier and date win, as
    # YAML's merge intends. That is not a repeated key.
    path = write(
        tmp_path,
        BASE.replace(
            "      community_management: {tier: development, since: 2026-06-01}",
            "      community_management: &g {tier: development, since: 2026-06-01}\n"
            "      advertising: {<<: *g, tier: standard, since: 2026-07-01}",
        ),
    )
    settings = load_settings(path, environ={})
    grant = settings.apps["social"].products["advertising"]
    assert (grant.tier, grant.since) == ("standard", date(2026, 7, 1))


# -- values ------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ['"2026-06-01"', "'2026-06-01'", "2026-06-01"])
def test_a_quoted_iso_date_is_a_date(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, BASE.replace("since: 2026-06-01", f"since: {written}"))
    grant = load_settings(path, environ={}).apps["social"].products["community_management"]
    assert grant.since == date(2026, 6, 1)


def test_a_quoted_string_that_is_no_date_is_still_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("since: 2026-06-01", 'since: "June 2026"'))
    assert problems(path, environ={}) == [
        f"{path}: apps.social.products.community_management.since: must be a date, YYYY-MM-DD"
    ]


def test_one_bad_field_in_an_app_is_the_only_problem_reported(tmp_path: Path) -> None:
    text = BASE.replace("tier: development,", "tier: gold,") + (
        "  - {token: tok-b, app: social, scopes: [r_organization_social]}\n"
        "  - {token: tok-c, app: ghost, scopes: [r_organization_social]}\n"
    )
    path = write(tmp_path, text)
    # Both tokens of the broken app say nothing; a token of an app that is not declared
    # at all is still reported.
    assert problems(path, environ={}) == [
        f"{path}: apps.social.products.community_management.tier: unknown tier "
        "(known: development, standard)",
        f"{path}: tokens[2].app: unknown app 'ghost'",
    ]


def test_a_missing_secret_is_an_error_unless_secrets_are_not_required(tmp_path: Path) -> None:
    path = write(
        tmp_path, BASE.replace("client_secret: s-social", "client_secret_env: SOCIAL_SECRET")
    )
    assert problems(path, environ={}) == [
        f"{path}: apps.social.client_secret_env: environment variable SOCIAL_SECRET is not set"
    ]
    settings = load_settings(path, environ={}, require_secrets=False)
    assert settings.apps["social"].client_secret == ""
    assert [t.app for t in settings.tokens] == ["social"]


# -- {listen} in redirect_uri ------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9000", "http://127.0.0.1:9000/oauth/callback"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080/oauth/callback"),
        ("[::]:8080", "http://[::1]:8080/oauth/callback"),
        ("[::1]:7000", "http://[::1]:7000/oauth/callback"),
        ("gateway.internal:443", "http://gateway.internal:443/oauth/callback"),
    ],
)
def test_listen_placeholder_in_redirect_uri_follows_the_listen_address(
    tmp_path: Path, listen: str, expected: str
) -> None:
    text = BASE.replace(
        "    client_secret: s-social\n",
        "    client_secret: s-social\n"
        "    redirect_uri: http://{listen}/oauth/callback\n"
        "    return_url: https://app.example/done\n",
    )
    path = write(tmp_path, text)
    settings = load_settings(path, environ={}, overrides={"listen": listen})
    assert settings.apps["social"].redirect_uri == expected


def test_the_demo_redirect_uri_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    demo = load_settings(None, environ={})
    assert demo.apps["acme-social"].redirect_uri == "http://127.0.0.1:8080/oauth/callback"
    moved = load_settings(None, environ={"GATEWAY_LISTEN": "127.0.0.1:18443"})
    assert moved.source == default_config_path()
    assert moved.apps["acme-social"].redirect_uri == "http://127.0.0.1:18443/oauth/callback"


# -- unreadable files, one line each -----------------------------------------------------


def test_a_file_that_is_not_utf8_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("listen: 127.0.0.1:9000\n# café\n".encode("latin-1"))
    assert problems(str(path), environ={}) == [f"{path}: cannot read: not UTF-8 text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "listen: [127.0.0.1:9000\n",
            "line 2, column 1: not valid YAML: while parsing a flow sequence: expected ',' or "
            "']', but got '<stream end>'",
        ),
        (
            "apps:\n  a: {client_id: x\n\tproducts: {}}\n",
            "line 3, column 1: not valid YAML: while scanning for the next token: found "
            "character '\\t' that cannot start any token",
        ),
    ],
)
def test_a_yaml_syntax_error_is_one_line_with_its_place(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    found = problems(str(path), environ={})
    assert found == [f"{path}: {expected}"]
    assert "\n" not in found[0]


def test_a_directory_or_missing_file_is_one_problem(tmp_path: Path) -> None:
    assert problems(str(tmp_path), environ={}) == [f"{tmp_path}: cannot read: Is a directory"]
    missing = tmp_path / "nope.yaml"
    assert problems(str(missing), environ={}) == [
        f"{missing}: cannot read: No such file or directory"
    ]

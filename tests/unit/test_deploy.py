"""deploy/: the compose file and the Kubernetes manifests name only what the project has.

Every image built, command run, port published, environment variable set and file mounted
is checked against the Dockerfile, the CLI's parser, the config loader and the repository;
the Kubernetes objects are validated against the Kubernetes API schema (offline, the
schemas bundled by kubernetes-validate), and the config each deployment runs loads.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.cli import DRAIN_SECONDS, ENVIRONMENT, build_parser
from gateway.settings.loader import load_settings
from gateway.settings.model import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes"
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
# Images the deployment pulls rather than builds, and the commands they run.
PULLED = {"redis": {"redis-server", "redis-cli"}}
REDIS_PORT = 6379


def dockerfile_env(path: Path) -> dict[str, str]:
    """The ``ENV`` the Dockerfile sets (``ENV A=1 \\`` continued over lines)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def env_names_read(settings: Settings, raw_config: Mapping[str, Any]) -> set[str]:
    """Every environment variable a gateway with this config reads: the CLI's own, and
    those the config names (``client_secret_env``, ``admin_token_env``, ``secret_env``)."""
    names = set(ENVIRONMENT)

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
                    yield value
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    names.update(walk(raw_config))
    assert settings.source  # the config loaded: the names above are really read
    return names


def parse_command(argv: list[str]) -> Any:
    """The CLI's own parser on a deployment's command; argparse's exit fails the test."""
    assert argv[0] in SCRIPTS, f"{argv[0]} is not a console script of the project"
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit as exc:  # argparse's way of refusing
        raise AssertionError(f"{argv} is not a valid command: exit {exc.code}") from None


def port_of(host_port: str) -> int:
    return int(host_port.rpartition(":")[2])


# -- compose -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def services_running(compose: dict[str, Any], command: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command", [None, None])[:2] == ["linkedin-gateway", command]
    }


def test_compose_runs_two_gateways_redis_and_the_sandbox(compose: dict[str, Any]) -> None:
    assert len(services_running(compose, "serve")) == 2
    assert len(services_running(compose, "sandbox")) == 1
    assert [n for n, s in compose["services"].items() if s.get("image", "").startswith("redis:")]


def test_compose_builds_from_the_repository_dockerfile(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            image = service["image"].split(":")[0]
            assert image in PULLED, f"{name} pulls {image}, which the project does not use"
            assert service["command"][0] in PULLED[image]
            continue
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).is_file(), name
        # What the image's CMD and the service's command run is installed by the build.
        assert service["command"][0] in SCRIPTS


def test_compose_commands_are_ones_the_cli_accepts(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("build") is not None:
            parse_command(service["command"])
            assert name


def test_compose_ports_environment_and_files_exist(compose: dict[str, Any]) -> None:
    image_env = dockerfile_env(ROOT / "Dockerfile")
    services = compose["services"]
    sandbox_name, sandbox = next(iter(services_running(compose, "sandbox").items()))
    sandbox_args = parse_command(sandbox["command"])
    redis_name = next(n for n, s in services.items() if s.get("image", "").startswith("redis:"))
    published: set[str] = set()
    for name, service in services_running(compose, "serve").items():
        args = parse_command(service["command"])
        env = {**image_env, **{k: str(v) for k, v in service["environment"].items()}}
        # The mounted config is the one --config names; it exists in the repository.
        mounts = dict(reversed(volume.split(":")[:2]) for volume in service.get("volumes", []))
        assert args.config in mounts, f"{name}: {args.config} is not mounted"
        host_file = (DEPLOY / mounts[args.config]).resolve()
        assert host_file.is_file(), host_file
        settings = load_settings(str(host_file), environ=env)
        raw = yaml.safe_load(host_file.read_text(encoding="utf-8"))
        assert set(service["environment"]) <= env_names_read(settings, raw), name
        # Published ports reach the listener; each host port once.
        for mapping in service["ports"]:
            host, _, container = str(mapping).rpartition(":")
            assert int(container) == settings.listen.port, name
            assert settings.listen.host == "0.0.0.0", f"{name} listens inside only"
            assert host not in published
            published.add(host)
        # The admin listener is on loopback in the container: the image's health check.
        assert settings.admin_listen is not None
        assert settings.admin_listen.host == "127.0.0.1"
        assert str(settings.admin_listen.port) in (ROOT / "Dockerfile").read_text()
        # The upstream is the sandbox service on its port; the store is the Redis service.
        upstream = urlsplit(settings.upstream)
        assert (upstream.hostname, upstream.port) == (sandbox_name, sandbox_args.port)
        assert settings.oauth.base is not None
        assert urlsplit(settings.oauth.base).hostname == sandbox_name
        store = urlsplit(settings.store)
        assert (store.scheme, store.hostname, store.port) == ("redis", redis_name, REDIS_PORT)
        assert set(service["depends_on"]) == {redis_name, sandbox_name}
    assert len(published) == 2
    # The sandbox's health check calls the port it listens on.
    assert sandbox_args.host == "0.0.0.0"
    assert f"127.0.0.1:{sandbox_args.port}/" in " ".join(sandbox["healthcheck"]["test"])


# -- Kubernetes ----------------------------------------------------------------------------


def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate as validator
    except ImportError:
        # CI installs the test lock, which has it: there the test must run, never skip.
        if os.environ.get("CI"):
            raise
        pytest.skip("kubernetes-validate missing: reinstall from requirements/test.lock")
    return validator


def manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return documents


def one(kind: str) -> dict[str, Any]:
    (found,) = [d for d in manifests() if d["kind"] == kind]
    return found


@pytest.mark.parametrize("version", ["1.30", "latest"])
def test_every_manifest_is_a_valid_kubernetes_object(version: str) -> None:
    validator = kubernetes_validate()
    target = validator.latest_version() if version == "latest" else version
    documents = manifests()
    assert {d["kind"] for d in documents} >= {"Deployment", "ConfigMap", "Secret", "Service"}
    for document in documents:
        # strict: a misspelt or misplaced field is an error, not silently ignored.
        validator.validate(document, target, strict=True)


def test_the_schema_check_catches_a_misplaced_field() -> None:
    validator = kubernetes_validate()
    deployment = one("Deployment")
    gateway = deployment["spec"]["template"]["spec"]["containers"][1]
    gateway["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(validator.ValidationError):
        validator.validate(deployment, "1.30", strict=True)


def gateway_container() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = one("Deployment")["spec"]["template"]["spec"]
    (gateway,) = [c for c in pod["containers"] if c.get("command", [""])[0] == "linkedin-gateway"]
    return pod, gateway


def test_the_gateway_is_a_sidecar_next_to_an_app_container() -> None:
    pod, gateway = gateway_container()
    others = [c for c in pod["containers"] if c is not gateway]
    assert len(others) == 1
    settings, _ = sidecar_settings()
    # The app reaches the sidecar on the pod's loopback, where the gateway listens.
    app_env = {e["name"]: e.get("value", "") for e in others[0].get("env", [])}
    assert f"http://127.0.0.1:{settings.listen.port}" in app_env.values()
    assert settings.listen.host == "127.0.0.1"


def sidecar_settings() -> tuple[Settings, dict[str, Any]]:
    """The sidecar's config as the gateway loads it, with the example Secret's values."""
    _, gateway = gateway_container()
    args = parse_command(gateway["command"])
    config_map = one("ConfigMap")
    (mount,) = [m for m in gateway["volumeMounts"] if args.config.startswith(m["mountPath"])]
    pod, _ = gateway_container()
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    key = args.config[len(mount["mountPath"]) :].lstrip("/")
    text = config_map["data"][key]
    secret = one("Secret")
    env: dict[str, str] = {}
    for item in gateway["env"]:
        ref = item["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        env[item["name"]] = secret["stringData"][ref["key"]]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / key
        path.write_text(text, encoding="utf-8")
        settings = load_settings(str(path), environ=env)
    raw = yaml.safe_load(text)
    assert {item["name"] for item in gateway["env"]} <= env_names_read(settings, raw)
    return settings, raw


def test_the_store_url_and_secrets_come_from_the_secret() -> None:
    _, gateway = gateway_container()
    settings, raw = sidecar_settings()
    by_name = {item["name"]: item for item in gateway["env"]}
    assert "secretKeyRef" in by_name["GATEWAY_STORE"]["valueFrom"]
    assert "store" not in raw  # never in the ConfigMap, where the password would be readable
    assert settings.store.startswith("redis://")
    # Every secret the config names is given from the Secret, none as a literal value.
    for item in gateway["env"]:
        assert "value" not in item, item["name"]


def test_probes_reach_the_admin_port_from_the_kubelet() -> None:
    _, gateway = gateway_container()
    settings, raw = sidecar_settings()
    assert settings.admin_listen is not None
    # The kubelet probes the pod IP: the admin listener binds every address, which the
    # gateway allows only with an admin token (the probes need none).
    assert settings.admin_listen.host == "0.0.0.0"
    assert settings.guards.admin_token
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = gateway[probe]["httpGet"]
        assert get["path"] == path
        port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
        assert port == settings.admin_listen.port
    assert raw["admin_token_env"] in {item["name"] for item in gateway["env"]}


def test_pre_stop_sleeps_then_the_drain_fits_the_grace_period() -> None:
    pod, gateway = gateway_container()
    sleep = gateway["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and re.fullmatch(r"\d+", sleep[1])
    gateway_sleep = int(sleep[1])
    assert gateway_sleep + DRAIN_SECONDS < pod["terminationGracePeriodSeconds"]
    # The app stops first; the gateway keeps serving its last calls.
    for container in pod["containers"]:
        if container is not gateway:
            app_sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
            assert app_sleep < gateway_sleep


def test_the_service_selects_the_deployment_pods() -> None:
    deployment, service = one("Deployment"), one("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    pod, gateway = gateway_container()
    app_ports = {
        port["name"]
        for container in pod["containers"]
        if container is not gateway
        for port in container.get("ports", [])
    }
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in app_ports

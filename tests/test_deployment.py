"""Structural checks of the container deployment (docker-compose.yaml, Dockerfile, .dockerignore).

No Docker engine is needed: these tests catch the drift that would otherwise surface only at
`docker compose up` time (a service not built from this repo, mismatched DB credentials, an image
whose Airflow differs from the pinned one, a build context missing the provider).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CONSTRAINTS = ROOT / "constraints.txt"
PYPROJECT = ROOT / "pyproject.toml"

AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
)
REQUIRED_SERVICES = ("postgres", "redis", *AIRFLOW_SERVICES)
# Service -> Airflow command it must run (airflow-init is a one-shot job, not long-running).
LONG_RUNNING_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
LONG_RUNNING_SERVICES = ("postgres", "redis", *LONG_RUNNING_COMMANDS)
PYTHON_VERSION = "3.11"
DAGS_MOUNT_TARGET = "/opt/airflow/dags"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _canonical(name: str) -> str:
    """PEP 503 name normalisation, so `Apache_Airflow` and `apache-airflow` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraint_pins() -> dict[str, str]:
    """`name==version` pins from constraints.txt, keyed by canonical name."""
    pins: dict[str, str] = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_canonical(name.split("[", 1)[0].strip())] = version.split(";", 1)[0].strip()
    return pins


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and `\\` continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends with a dangling line continuation"
    return instructions


def _global_args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """ARG defaults declared before the first FROM: the only ones FROM may use."""
    args: dict[str, str] = {}
    for keyword, value in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = value.partition("=")
            args[name.strip()] = default.strip().strip("\"'")
    return args


def _substitute(text: str, args: dict[str, str]) -> str:
    """Expand `${NAME}` / `$NAME` the way the Docker builder expands build args in FROM."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in args, f"Dockerfile FROM uses ${name} with no ARG default before FROM"
        return args[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, text)


def _copy_sources(instructions: list[tuple[str, str]]) -> list[str]:
    """Build-context paths copied by COPY/ADD (flags such as --chown dropped, destination dropped)."""
    sources: list[str] = []
    for keyword, value in instructions:
        if keyword not in {"COPY", "ADD"}:
            continue
        parts = [part for part in value.split() if not part.startswith("--")]
        assert len(parts) >= 2, f"{keyword} {value!r} needs a source and a destination"
        sources.extend(part.rstrip("/") for part in parts[:-1])
    return sources


def _volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) for each volume, in short (`src:dst[:mode]`) or long (mapping) syntax."""
    mounts: list[tuple[str, str]] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((str(volume.get("source", "")), str(volume["target"])))
        else:
            source, target, *_ = str(volume).split(":")
            mounts.append((source, target))
    return mounts


def _published_container_ports(service: dict[str, Any]) -> set[int]:
    """Container ports that are published to the host (`expose` alone does not count)."""
    ports: set[int] = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            if port.get("published") is not None:
                ports.add(int(port["target"]))
        else:
            parts = str(port).split("/", 1)[0].split(":")
            if len(parts) >= 2:
                ports.add(int(parts[-1]))
    return ports


def _env(service: dict[str, Any]) -> dict[str, Any]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment must use mapping syntax (as the anchor does)"
    return environment


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file with YAML anchors and `<<` merges resolved (SafeLoader does both)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose_spec() -> Draft202012Validator:
    """The Compose specification's JSON schema, as the check-jsonschema package (a dev dependency,
    pinned in constraints.txt) ships it: what `docker compose config` would check, without a Docker engine."""
    schema = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return Draft202012Validator(
        json.loads(schema.read_text(encoding="utf-8")), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _spec_errors(validator: Draft202012Validator, document: dict[str, Any]) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = compose.get("services")
    assert isinstance(result, dict), "docker-compose.yaml has no services mapping"
    return result


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return _dockerfile_instructions()


@pytest.fixture(scope="module")
def base_image(instructions: list[tuple[str, str]]) -> str:
    """The resolved image reference of the (single) FROM line."""
    froms = [value for keyword, value in instructions if keyword == "FROM"]
    assert len(froms) == 1, f"expected one build stage, found FROM lines {froms}"
    # FROM [--platform=...] image [AS stage]
    reference = next(part for part in froms[0].split() if not part.startswith("--"))
    return _substitute(reference, _global_args(instructions))


# ---------------------------------------------------------------------------------------------
# docker-compose.yaml
# ---------------------------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification(
    compose_spec: Draft202012Validator, compose: dict[str, Any]
) -> None:
    assert _spec_errors(compose_spec, compose) == []


def test_compose_specification_check_catches_a_bad_file(
    compose_spec: Draft202012Validator, compose: dict[str, Any]
) -> None:
    """The schema is the real one: a misspelt key and a wrong type are both named."""
    broken = copy.deepcopy(compose)
    broken["services"]["postgres"]["healthcheck"]["retires"] = 5
    broken["services"]["airflow-apiserver"]["ports"] = "8080:8080"
    errors = _spec_errors(compose_spec, broken)
    assert any(error.startswith("services/postgres/healthcheck:") and "retires" in error for error in errors)
    assert any(error.startswith("services/airflow-apiserver/ports:") for error in errors), errors


def test_required_services_present(services: dict[str, dict[str, Any]]) -> None:
    missing = sorted(set(REQUIRED_SERVICES) - set(services))
    assert not missing, f"docker-compose.yaml lacks services {missing}"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_builds_provider_image(services: dict[str, dict[str, Any]], name: str) -> None:
    """Every Airflow component must run the image built here, or tasks cannot import ecr_provider."""
    service = services[name]
    build = service.get("build")
    assert isinstance(build, dict), f"{name} is not built from the repository"
    assert build.get("context") == "."
    dockerfile = (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).resolve()
    assert dockerfile == DOCKERFILE
    assert dockerfile.is_file()
    image = str(service.get("image", ""))
    assert image, f"{name} should tag the built image so all services share it"
    assert not image.startswith("apache/airflow"), f"{name} would run the stock image {image}"


def test_airflow_services_share_one_image(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name].get("image") for name in AIRFLOW_SERVICES}
    assert len(images) == 1, f"Airflow services use different images: {images}"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_uses_celery_and_mounts_dags(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    assert _env(service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    sources = [source for source, target in _volume_mounts(service) if target == DAGS_MOUNT_TARGET]
    assert sources, f"{name} does not mount anything at {DAGS_MOUNT_TARGET}"
    assert sources == ["./dags"], f"{name} mounts {sources} at {DAGS_MOUNT_TARGET}, expected ./dags"
    assert (ROOT / "dags").is_dir()


def test_airflow_environment_is_identical_where_it_matters(services: dict[str, dict[str, Any]]) -> None:
    """Services that override `environment` (worker, init) must still merge the common block."""
    keys = (
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__AUTH_MANAGER",
        "AIRFLOW_VAR_ECR_REPORT_CONFIG",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AWS_DEFAULT_REGION",
        "ECR_REPORT_POOL",
    )
    reference = _env(services["airflow-apiserver"])
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        for key in keys:
            assert key in env, f"{name} lacks {key}"
            assert env[key] == reference[key], f"{name} has {key}={env[key]!r}, expected {reference[key]!r}"


def test_database_url_matches_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    postgres_env = _env(services["postgres"])
    env = _env(services["airflow-scheduler"])
    sql = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    result = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
    assert sql.scheme.startswith("postgresql")
    assert result.scheme.startswith("db+postgresql"), "Celery's DB result backend needs the db+ prefix"
    for url in (sql, result):
        assert url.hostname in services, f"database host {url.hostname!r} is not a compose service"
        assert url.hostname == "postgres"
        assert url.username == postgres_env["POSTGRES_USER"]
        assert url.password == postgres_env["POSTGRES_PASSWORD"]
        assert url.path.lstrip("/") == postgres_env["POSTGRES_DB"]
        assert url.port in (None, 5432)


def test_broker_url_points_at_redis_service(services: dict[str, dict[str, Any]]) -> None:
    broker = urlsplit(_env(services["airflow-worker"])["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis"
    assert broker.hostname == "redis"
    assert broker.hostname in services
    assert broker.port == 6379
    assert "redis" in str(services["redis"]["image"])
    exposed = {int(port) for port in services["redis"].get("expose", [])}
    assert 6379 in exposed


def test_execution_api_url_points_at_apiserver(services: dict[str, dict[str, Any]]) -> None:
    """Airflow 3 workers report task state over the Execution API, served by the api-server."""
    url = urlsplit(_env(services["airflow-worker"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-apiserver"
    assert url.port == 8080
    assert url.path.rstrip("/") == "/execution"


def test_apiserver_publishes_8080(services: dict[str, dict[str, Any]]) -> None:
    apiserver = services["airflow-apiserver"]
    assert apiserver["command"] == "api-server"
    assert 8080 in _published_container_ports(apiserver)


@pytest.mark.parametrize(("name", "command"), sorted(LONG_RUNNING_COMMANDS.items()))
def test_airflow_component_command(services: dict[str, dict[str, Any]], name: str, command: str) -> None:
    assert services[name]["command"] == command


@pytest.mark.parametrize("name", LONG_RUNNING_SERVICES)
def test_long_running_service_has_healthcheck(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    healthcheck = service.get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False)
    test = healthcheck.get("test")
    assert test, f"{name} healthcheck has no test"
    if isinstance(test, list):
        assert test[0] in {"CMD", "CMD-SHELL"}
        assert len(test) >= 2
    assert service.get("restart") in {"always", "unless-stopped", "on-failure"}


def test_scheduler_health_server_enabled(services: dict[str, dict[str, Any]]) -> None:
    """The scheduler healthcheck curls port 8974, which only answers when the health server is on."""
    scheduler = services["airflow-scheduler"]
    assert "8974" in " ".join(scheduler["healthcheck"]["test"])
    assert str(_env(scheduler)["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"]).lower() == "true"


@pytest.mark.parametrize("name", tuple(LONG_RUNNING_COMMANDS))
def test_airflow_component_waits_for_dependencies(services: dict[str, dict[str, Any]], name: str) -> None:
    depends_on = services[name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["airflow-init"]["condition"] == "service_completed_successfully"


def test_init_migrates_db_and_creates_user(services: dict[str, dict[str, Any]]) -> None:
    init = services["airflow-init"]
    env = _env(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_USERNAME"]
    assert env["_AIRFLOW_WWW_USER_PASSWORD"]
    assert init["entrypoint"] == "/bin/bash"
    assert "/entrypoint airflow version" in "\n".join(init["command"])


def test_init_creates_the_pool_every_container_names(services: dict[str, dict[str, Any]]) -> None:
    """The scheduler never starts a task whose pool does not exist: the pool the DAG is parsed with
    (``ECR_REPORT_POOL``) is the one airflow-init creates."""
    assert _env(services["airflow-scheduler"])["ECR_REPORT_POOL"] == "${ECR_REPORT_POOL:-ecr_report}"
    init_script = "\n".join(services["airflow-init"]["command"])
    assert 'airflow pools set "$${ECR_REPORT_POOL}"' in init_script


def test_jwt_secret_default_is_long_enough(services: dict[str, dict[str, Any]]) -> None:
    """Airflow warns about a JWT secret shorter than 32 bytes (HMAC-SHA512 wants 64, 32 is its floor)."""
    value = _env(services["airflow-apiserver"])["AIRFLOW__API_AUTH__JWT_SECRET"]
    default = re.fullmatch(r"\$\{AIRFLOW__API_AUTH__JWT_SECRET:-(.+)\}", value)
    assert default is not None, value
    assert len(default.group(1).encode()) >= 32


def compose_section_of_the_docs() -> str:
    page = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    match = re.search(r"^## docker compose\n(.*?)(?=^## )", page, re.MULTILINE | re.DOTALL)
    assert match is not None, "docs/deploying.md has no docker compose section"
    return match.group(1)


def test_the_docs_build_the_image_and_name_every_variable_compose_reads() -> None:
    section = compose_section_of_the_docs()
    assert "docker compose build" in section
    assert "docker compose up airflow-init" in section
    # ${NAME} and ${NAME:-default} are read from the shell; $${NAME} is the container shell's own.
    read = set(re.findall(r"(?<!\$)\$\{(\w+)(?::-[^}]*)?\}", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert read, "compose reads no variable from the shell?"
    assert {name for name in read if f"`{name}`" not in section} == set()


def test_airflow_services_run_as_airflow_uid(services: dict[str, dict[str, Any]]) -> None:
    """Files written to the bind mounts must belong to the host user (init alone runs as root to chown)."""
    for name in LONG_RUNNING_COMMANDS:
        assert services[name]["user"] == "${AIRFLOW_UID:-50000}:0"
    assert services["airflow-init"]["user"] == "0:0"


def test_provider_settings_are_optional(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["airflow-scheduler"])
    assert env["AIRFLOW_VAR_ECR_REPORT_CONFIG"] == "${ECR_REPORT_CONFIG:-}"
    assert env["AIRFLOW_CONN_AWS_DEFAULT"] == "${AIRFLOW_CONN_AWS_DEFAULT:-aws://}"
    # A bare key passes the host value through and leaves it unset otherwise; an empty string
    # would not do: boto3 builds the endpoint `api.ecr..amazonaws.com` from an empty region.
    assert "AWS_DEFAULT_REGION" in env
    assert env["AWS_DEFAULT_REGION"] is None
    assert str(env["AIRFLOW__CORE__LOAD_EXAMPLES"]).lower() == "false"


# ---------------------------------------------------------------------------------------------
# Dockerfile and build context
# ---------------------------------------------------------------------------------------------


def test_base_image_is_pinned_airflow3(base_image: str) -> None:
    match = re.fullmatch(r"apache/airflow:(?P<airflow>\d+\.\d+\.\d+)-python(?P<python>\d+\.\d+)", base_image)
    assert match, f"unexpected base image {base_image!r}"
    assert match["airflow"].split(".")[0] == "3"
    pins = _constraint_pins()
    assert "apache-airflow" in pins, "constraints.txt has no apache-airflow== pin"
    assert match["airflow"] == pins["apache-airflow"]
    if "apache-airflow-core" in pins:
        assert match["airflow"] == pins["apache-airflow-core"]


def test_base_image_python_version(base_image: str) -> None:
    python = base_image.rsplit("-python", 1)[-1]
    assert python == PYTHON_VERSION
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert SpecifierSet(project["requires-python"]).contains(f"{python}.0")


def test_pinned_airflow_satisfies_project_requirement() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirement = next(dep for dep in project["dependencies"] if re.match(r"apache-airflow\s*[<>=!~]", dep))
    specifier = SpecifierSet(requirement.removeprefix("apache-airflow").split(";", 1)[0])
    assert specifier.contains(_constraint_pins()["apache-airflow"])


def test_install_uses_constraints_as_airflow_user(instructions: list[tuple[str, str]]) -> None:
    """The official image supports pip installs only as `airflow`; constraints keep versions tested."""
    user = "root"
    installs: list[tuple[str, str]] = []
    for keyword, value in instructions:
        if keyword == "USER":
            user = value.split(":", 1)[0]
        elif keyword == "RUN" and re.search(r"\bpip\b.*\binstall\b", value):
            installs.append((user, value))
    assert installs, "Dockerfile never pip-installs the provider"
    for run_user, command in installs:
        assert run_user in {"airflow", "50000"}, f"pip install runs as {run_user}: {command}"
        assert re.search(r"(-c|--constraint)[ =]constraints\.txt\b", command), command
        assert re.search(r"\s\"?\.(\[postgres\])?\"?(\s|$)", command), (
            f"pip install does not install the project: {command}"
        )
        assert "[postgres]" in command, f"the image's Postgres drivers must follow constraints.txt: {command}"


def test_build_copies_provider_package(instructions: list[tuple[str, str]]) -> None:
    sources = set(_copy_sources(instructions))
    for needed in ("ecr_provider", "pyproject.toml", "constraints.txt"):
        assert needed in sources, f"Dockerfile does not COPY {needed}"
    readme = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"].get("readme")
    if isinstance(readme, str):
        assert readme in sources, f"pyproject names readme {readme}; the build needs it copied"


def test_copied_paths_exist_and_are_not_dockerignored(instructions: list[tuple[str, str]]) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in _copy_sources(instructions):
        assert (ROOT / source).exists(), f"COPY source {source} is missing from the build context"
        for pattern in patterns:
            if pattern.startswith("!"):
                continue
            assert not fnmatch.fnmatch(source, pattern.removeprefix("**/")), (
                f"{source} is excluded by .dockerignore pattern {pattern}"
            )


def test_dockerignore_excludes_local_state() -> None:
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    for entry in (".venv", ".airflow", "reports", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache"):
        assert entry in patterns, f".dockerignore should exclude {entry}"

"""The Dockerfiles (deploy/docker/), read with dockerfile-parse: no image is built here (no
Docker on the test machines), so this checks what can be checked without one: the base image,
the locked install, a non-root user, a health check, no secret baked in, and that everything
they copy and run exists in the repository (and is not left out of the build context)."""

import fnmatch
import json
from pathlib import Path
from typing import Dict, List

import pytest
from dockerfile_parse import DockerfileParser

from settings import PROJECT_DIR

DOCKERFILES = {
    "rasa": PROJECT_DIR / "deploy" / "docker" / "rasa.Dockerfile",
    "actions": PROJECT_DIR / "deploy" / "docker" / "actions.Dockerfile",
}
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET", "DATABASE_URL", "WEBHOOK_URL", "KEY")


def instructions(name: str) -> List[Dict]:
    parser = DockerfileParser(path=str(DOCKERFILES[name]))
    return parser.structure


def final_stage(name: str) -> List[Dict]:
    steps = instructions(name)
    last_from = max(i for i, step in enumerate(steps) if step["instruction"] == "FROM")
    return steps[last_from:]


def ignored(path: str) -> bool:
    """Whether .dockerignore leaves ``path`` out of the build context (its last matching line wins)."""
    verdict = False
    for line in (PROJECT_DIR / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            verdict = not negated
    return verdict


@pytest.mark.parametrize("name", DOCKERFILES)
def test_both_stages_start_from_python_3_10_slim(name):
    bases = [step["value"].split()[0] for step in instructions(name) if step["instruction"] == "FROM"]
    assert bases and all(base == "python:3.10-slim" for base in bases)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_exactly_the_locked_packages_are_installed(name):
    runs = " ".join(step["value"] for step in instructions(name) if step["instruction"] == "RUN")
    assert "pip install --no-deps -r requirements.lock" in runs
    assert "pip check" in runs


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_server_runs_as_a_non_root_user_with_a_health_check(name):
    stage = final_stage(name)
    users = [step["value"] for step in stage if step["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    kinds = [step["instruction"] for step in stage]
    assert kinds.index("USER") < kinds.index("CMD")
    [health] = [step["value"] for step in stage if step["instruction"] == "HEALTHCHECK"]
    assert "CMD" in health and "127.0.0.1" in health


@pytest.mark.parametrize("name", DOCKERFILES)
def test_no_secret_is_baked_in(name):
    for step in instructions(name):
        if step["instruction"] in ("ENV", "ARG"):
            for assignment in step["value"].split():
                variable, _, value = assignment.partition("=")
                assert not (any(word in variable for word in SECRET_WORDS) and value), assignment
        if step["instruction"] == "COPY":
            assert not any(word in step["value"] for word in (".env", ".token", ".db"))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_everything_copied_exists_in_the_repository_and_the_build_context(name):
    arguments = {
        step["value"].split("=")[0]: step["value"].split("=", 1)[1]
        for step in instructions(name)
        if step["instruction"] == "ARG" and "=" in step["value"]
    }
    for step in instructions(name):
        if step["instruction"] != "COPY" or step["value"].startswith("--from"):
            continue
        *sources, _destination = step["value"].split()
        for source in sources:
            for variable, value in arguments.items():
                source = source.replace(f"${{{variable}}}", value)
            assert (PROJECT_DIR / source).exists() or source.startswith("models/"), source
            assert not ignored(source.rstrip("/")), f"{source} is left out by .dockerignore"


def test_the_rasa_image_serves_the_copied_model_with_the_http_api_off():
    stage = final_stage("rasa")
    [command] = [json.loads(step["value"]) for step in stage if step["instruction"] == "CMD"]
    assert command[:3] == ["python", "-m", "rasa_plugins.server"]
    assert "--enable-api" not in command and "--cors" not in command
    copies = " ".join(step["value"] for step in stage if step["instruction"] == "COPY")
    assert command[command.index("--model") + 1] in copies
    for option in ("--credentials", "--endpoints"):
        assert command[command.index(option) + 1] in copies


def test_the_actions_image_runs_the_actions_package_it_copies():
    stage = final_stage("actions")
    [command] = [json.loads(step["value"]) for step in stage if step["instruction"] == "CMD"]
    assert command == ["python", "-m", "actions.server"]
    package = "actions"
    assert (PROJECT_DIR / package / "server.py").is_file()
    assert any(step["value"].startswith(f"{package}/ ") for step in stage if step["instruction"] == "COPY")


def test_the_build_context_leaves_out_local_state_and_secrets():
    for path in (".venv", ".git", "var", "tests", "models/other.tar.gz", "publish.token", "conversations.db"):
        assert ignored(path), path
    assert not ignored("models/back-pain-assistant.tar.gz")
    assert not ignored(Path("rasa_plugins").as_posix())

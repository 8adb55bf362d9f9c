"""The compose file describes the whole stack; `docker compose config` validates it where it can."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker" / "compose.yml"


def test_compose_file_has_every_service_of_the_stack():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert "gunicorn" in services["web"]["command"]
    assert services["beat"]["command"][-1] == "django_celery_beat.schedulers:DatabaseScheduler"
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")


def _has_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="the docker compose client is not installed")
def test_docker_compose_config_validates():
    subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "-q"], check=True)

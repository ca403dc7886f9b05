"""The deployment files agree with the code: every queue has workers, every process restarts, the
settings the app needs are provided, and the image holds every package. (Containers cannot run on
this machine; README, Operations, says what was exercised and what was not.)"""

from __future__ import annotations

import re

import yaml

from jobs.queues import QUEUE_NAMES
from tests.conftest import ROOT

INFRA = ROOT / "infra"
REQUIRED = {"DATABASE_URL", "MIGRATION_DATABASE_URL", "NATIONAL_DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL"}


def _worker_queues(command: list[str]) -> list[str]:
    assert command[:3] == ["python", "-m", "jobs.worker"], command
    return command[3:]


def test_compose_serves_every_queue_and_restarts_every_process():
    compose = yaml.safe_load((INFRA / "compose" / "compose.yaml").read_text())
    services = compose["services"]
    workers = {name: s for name, s in services.items() if name.startswith("worker-")}
    served = [queue for s in workers.values() for queue in _worker_queues(s["command"])]
    assert sorted(served) == sorted(QUEUE_NAMES)  # each queue exactly once
    for name, service in services.items():
        if name != "migrate":
            assert service["restart"] == "unless-stopped", name
    app_env = services["web"]["environment"]
    assert REQUIRED <= set(app_env)
    assert "--appendonly" in services["redis"]["command"]
    assert any(arg.startswith("archive_command=") for arg in services["postgres"]["command"])
    assert {"postgres", "redis", "seaweedfs", "web", "cron", "backup", "caddy"} <= set(services)


def test_kubernetes_manifests_serve_every_queue_with_one_cron():
    documents = list(yaml.safe_load_all((INFRA / "k8s" / "ocop.yaml").read_text()))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("Deployment", "ocop-web") in kinds and ("CronJob", "ocop-backup") in kinds
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    served = [
        queue
        for name, d in deployments.items()
        if name.startswith("ocop-worker-")
        for queue in _worker_queues(d["spec"]["template"]["spec"]["containers"][0]["command"])
    ]
    assert sorted(served) == sorted(QUEUE_NAMES)
    cron = deployments["ocop-cron"]["spec"]
    assert cron["replicas"] == 1 and cron["strategy"]["type"] == "Recreate"
    secret = next(d for d in documents if d["kind"] == "Secret")
    assert REQUIRED | {"SECRET_KEY"} <= set(secret["stringData"])


def test_image_copies_every_package():
    containerfile = (INFRA / "Containerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \./", containerfile, re.M))
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages == {"app", "tenants", "jobs", "infra"}
    assert packages | {"migrations"} <= copied

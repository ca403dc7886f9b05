"""The deployment files agree with the code: every queue has workers, every process restarts, the
settings the app needs are provided, and the image holds every package. (Containers cannot run on
this machine; README, Operations, says what was exercised and what was not.)"""

from __future__ import annotations

import re

import yaml

from jobs.queues import QUEUE_NAMES
from tests.conftest import ROOT

INFRA = ROOT / "infra"
REQUIRED = {"DATABASE_URL", "NATIONAL_DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL"}
# Connections no process serving requests may hold (issue 12, item 6: a compromised web process must not
# reach the owner, who writes accounts, nor the backup role, which reads every province), and the passwords
# they are built from.
PRIVILEGED = {"MIGRATION_DATABASE_URL", "BACKUP_DATABASE_URL", "ADMIN_DATABASE_URL"}
PRIVILEGED_PASSWORDS = ("OWNER_DB_PASSWORD", "BACKUP_DB_PASSWORD", "POSTGRES_PASSWORD")


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
    for name in ("web", "cron", *workers):
        service = services[name]
        assert "env_file" not in service, name  # .env holds every database password
        assert REQUIRED <= set(service["environment"]) and not PRIVILEGED & set(service["environment"]), name
        assert not any(p in str(v) for v in service["environment"].values() for p in PRIVILEGED_PASSWORDS), name
    assert "MIGRATION_DATABASE_URL" in services["migrate"]["environment"]
    assert {"BACKUP_DATABASE_URL", "ADMIN_DATABASE_URL"} <= set(services["backup"]["environment"])
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
    secrets = {d["metadata"]["name"]: set(d["stringData"]) for d in documents if d["kind"] == "Secret"}
    assert REQUIRED | {"SECRET_KEY"} <= secrets["ocop"] and not PRIVILEGED & secrets["ocop"]
    assert secrets["ocop-owner"] == {"MIGRATION_DATABASE_URL"} and secrets["ocop-backup"] == {"BACKUP_DATABASE_URL"}

    def secrets_of(pod_spec) -> set[str]:
        container = pod_spec["containers"][0]
        return {source["secretRef"]["name"] for source in container.get("envFrom", []) if "secretRef" in source}

    for name, deployment in deployments.items():  # web, workers, cron: the app's secret only
        assert secrets_of(deployment["spec"]["template"]["spec"]) == {"ocop"}, name
    jobs = {d["metadata"]["name"]: d for d in documents if d["kind"] in ("Job", "CronJob")}
    assert secrets_of(jobs["ocop-migrate"]["spec"]["template"]["spec"]) == {"ocop", "ocop-owner"}
    backup = jobs["ocop-backup"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert secrets_of(backup) == {"ocop", "ocop-backup"}


def test_image_copies_every_package():
    containerfile = (INFRA / "Containerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \./", containerfile, re.M))
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages == {"app", "tenants", "jobs", "infra"}
    assert packages | {"migrations"} <= copied

"""Registry jobs: Excel imports."""
from app.registry.import_jobs import import_run
from jobs.wrapper import tenant_job


@tenant_job
def run_import(import_id: int) -> None:
    import_run(import_id)

"""Background jobs on RQ: queues, enqueue-after-commit, the tenant-aware wrapper, worker and cron."""

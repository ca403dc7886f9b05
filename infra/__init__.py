"""Development and CI infrastructure (embedded service launcher: see ``infra.stack``)."""

"""Attacks from issue 12 reuse the documents fixtures (real SeaweedFS uploads, producers)."""

from tests.documents.conftest import documents_queue, producer, producer_login  # noqa: F401

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture()
def cluster_root():
    """A folder for private PostgreSQL clusters, outside pytest's tmp root: pytest keeps that one
    0700 (re-applied by any concurrent session), which the postgres account could not enter."""
    root = Path(tempfile.mkdtemp(prefix="ocop-clusters-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)

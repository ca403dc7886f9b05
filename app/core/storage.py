"""The one S3 client (boto3 against any S3-compatible endpoint)."""

from __future__ import annotations

import boto3
from botocore.config import Config as BotoConfig
from flask import current_app


def s3_client(*, public: bool = False):
    """The app's client; `public=True` signs for the address browsers use (S3_PUBLIC_ENDPOINT_URL,
    when storage is reached at another address from outside: a presigned URL signs the host)."""
    cfg = current_app.config
    endpoint = (cfg.get("S3_PUBLIC_ENDPOINT_URL") if public else None) or cfg["S3_ENDPOINT_URL"]
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        aws_access_key_id=cfg["S3_ACCESS_KEY_ID"] or None,
        aws_secret_access_key=cfg["S3_SECRET_ACCESS_KEY"] or None,
        region_name=cfg["S3_REGION"],
        config=BotoConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 2},
        ),
    )


def storage_check() -> None:
    """Raise when the bucket is not reachable with our credentials."""
    s3_client().head_bucket(Bucket=current_app.config["S3_BUCKET"])

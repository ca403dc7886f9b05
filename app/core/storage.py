"""The one S3 client (boto3 against any S3-compatible endpoint)."""
from __future__ import annotations

import boto3
from botocore.config import Config as BotoConfig
from flask import current_app


def s3_client():
    cfg = current_app.config
    return boto3.client(
        "s3",
        endpoint_url=cfg["S3_ENDPOINT_URL"] or None,
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

"""boto3 clients that share one botocore model loader with PynamoDB's connections.

Every botocore session parses the JSON it needs (the endpoints and partitions, each service's
model) into its own loader. A Lambda's first request opens a DynamoDB connection (PynamoDB), an SSM
client (the signing secret) and, in the letter sender, an SES client: with one loader shared by all,
the endpoint data is parsed once per process, not once per client. The loader is read-only once
loaded, so sharing it across sessions and threads is safe."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def shared_loader() -> Any:
    import botocore.session

    return botocore.session.get_session().get_component("data_loader")


def botocore_session(env_vars: Any = None) -> Any:
    """A new botocore session (its own credentials and handlers) reading models through the shared loader."""
    import botocore.session

    session = botocore.session.get_session(env_vars)
    session.register_component("data_loader", shared_loader())
    return session


def client(service: str, region: str | None = None) -> Any:
    import boto3

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.session.Session(botocore_session=botocore_session()).client(service, region_name=region)

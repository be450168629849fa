"""moto, provisioned as the app expects AWS: every table from the models, the partner-link secret in
the parameter store and (optionally) each area's sender address verified in SES. Shared by the
per-test `aws` fixture and the module-wide stand-ins of the bad-input and fuzz suites."""
from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def provisioned_aws(link_secret: str, *, verify_senders: bool = False) -> Iterator[None]:
    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.adapters import secrets
    from chalicelib.adapters.tables import ALL_TABLES, reset_connections

    with mock_aws():
        reset_connections()
        secrets.clear_cache()
        for model in ALL_TABLES:
            model.create_table(wait=True)
        boto3.client("ssm", region_name="eu-west-2").put_parameter(
            Name=secrets.link_secret_name(), Value=link_secret, Type="SecureString")
        if verify_senders:
            ses = boto3.client("ses", region_name="eu-west-2")
            for policy in wiring.policies().values():
                ses.verify_email_identity(EmailAddress=policy.contacts.sender_email)
        try:
            yield
        finally:
            reset_connections()
            secrets.clear_cache()
            wiring.reset()

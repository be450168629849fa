"""The packaged template's tables: what a council's data protection officer would ask of each."""
from __future__ import annotations

import pytest

from chalicelib.adapters.tables import ALL_TABLES, table_suffix

pytestmark = pytest.mark.slow


def tables(sam) -> dict[str, dict]:
    return {r["Properties"]["TableName"]["Fn::Sub"].removeprefix("${AWS::StackName}-"): r
            for r in sam["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"}


def test_every_model_has_exactly_one_table(sam):
    assert sorted(tables(sam)) == sorted(table_suffix(m) for m in ALL_TABLES)


@pytest.mark.parametrize("suffix", sorted(table_suffix(m) for m in ALL_TABLES))
def test_every_table_is_recoverable_encrypted_and_protected_from_deletion(sam, suffix):
    table = tables(sam)[suffix]
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"  # cost grows with work, not with provisioned capacity


@pytest.mark.parametrize("model", ALL_TABLES, ids=table_suffix)
def test_a_table_expires_items_exactly_when_its_model_has_an_expiry(sam, model):
    ttl = model._ttl_attribute()  # noqa: SLF001
    props = tables(sam)[table_suffix(model)]["Properties"]
    if ttl is None:
        assert "TimeToLiveSpecification" not in props
    else:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl.attr_name, "Enabled": True}

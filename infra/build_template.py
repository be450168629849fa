"""Derive the CloudFormation resources that `chalice package --merge-template` adds from the
PynamoDB models, so deployed tables match the code exactly.

    python -m infra.build_template           # rewrite infra/resources.json
    python -m infra.build_template --check   # exit 1 if resources.json is stale (run by the tests)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.adapters.tables import ALL_TABLES, table_suffix
from infra import stack

OUT = Path(__file__).resolve().parent / "resources.json"
# The Lambda functions chalice generates; each gets the table prefix.
FUNCTIONS = ("APIHandler", "StaffAuth", "DeadlineSweep", "LetterSender", "LetterRetry", "SesReceipts",
             "CaseRetention", "RotateLinkSecret")
# The functions RestAPI's definition names (its integration and its authorizer).
REFERRED_TO_BY_API = ("APIHandler", "StaffAuth")
# chalicelib/routes/letters.py: the letter sender reads the letters table's stream. Chalice writes
# the decorator's placeholder ARN; the stream exists only with the table, so it is set here.
STREAM_FUNCTION, STREAM_EVENT, STREAM_TABLE = "LetterSender", "LetterSenderDynamodbEventSource", "LettersTable"
# Records the sender could not handle after the retries (storage down for hours) are kept here for
# 14 days, with the letters themselves still pending in the table for the retry schedule.
DEAD_LETTERS = "LetterStreamDeadLetterQueue"
RECEIPTS_DEAD_LETTERS = "SesReceiptsDeadLetterQueue"
# SES's delivery reports: emails are sent through this configuration set, whose event destination
# publishes their deliveries, bounces, complaints and rejects to the topic the SesReceipts function
# (chalicelib/routes/notifications.py) is subscribed to.
CONFIGURATION_SET_NAME = "${AWS::StackName}-letters"  # also named in .chalice/policy-*.json
RECEIPTS_FUNCTION = "SesReceipts"
# The name `chalice package` gives the function's SNS event (from the handler's name).
RECEIPTS_EVENT = "SesReceiptsSnsSubscription"

# The staff identity provider with IdentityProvider=entra (Microsoft Entra ID; with cognito, the
# default, these are ignored and derived from the stack's user pool: infra/stack/identity.py).
PARAMETERS = {
    "JwtIssuer": {"Type": "String", "Default": "", "Description": "With entra: the identity provider's issuer (the token's iss)"},
    "JwtAudience": {"Type": "String", "Default": "", "Description": "With entra: this API's audience (the token's aud)"},
    "JwksUrl": {"Type": "String", "Default": "", "Description": "With entra: where the issuer publishes its signing keys (JWKS)"},
    "RolesClaim": {"Type": "String", "Default": "roles",
                   "Description": "The claim holding spoc/appeals/admin (Cognito: cognito:groups)"},
    "AreasClaim": {"Type": "String", "Default": "areas", "Description": "The claim holding the person's area ids"},
    "OidcIssuer": {"Type": "String", "Default": "",
                   "Description": "The staff console's OpenID Connect issuer (discovery at <issuer>/.well-known/openid-configuration)"},
    "OidcClientId": {"Type": "String", "Default": "", "Description": "The console's client id (its id_tokens' aud)"},
    "OidcClientSecretParameter": {"Type": "String", "Default": "",
                                  "Description": "For a confidential client: /community-trigger/<stack>/oidc-client-secret "
                                                 "(an SSM SecureString; the role may read only that name). Empty: a public client"},
    "OidcScopes": {"Type": "String", "Default": "openid profile email", "Description": "Scopes the console asks for"},
    "OidcEndSessionUrl": {"Type": "String", "Default": "",
                          "Description": "Sign-out page when discovery names none (Cognito: https://<domain>/logout)"},
    # ConsoleBaseUrl, FormSiteUrl and FormOrigins: infra/stack/site.py
}


def _logical_id(model: Any) -> str:
    return "".join(part.capitalize() for part in table_suffix(model).split("-")) + "Table"


def _keys(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(key_schema, key=lambda k: k["KeyType"] != "HASH")  # CloudFormation wants HASH first


def table_resource(model: Any) -> dict[str, Any]:
    schema = model._get_schema()  # noqa: SLF001 - PynamoDB's own description of the table
    suffix = table_suffix(model)
    props: dict[str, Any] = {
        "TableName": {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"},
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
        "KeySchema": _keys(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        # Case data is personal data: neither a mistaken stack delete nor a console click drops a table.
        "DeletionProtectionEnabled": True,
    }
    if schema.get("global_secondary_indexes"):
        props["GlobalSecondaryIndexes"] = [
            {"IndexName": index["index_name"], "KeySchema": _keys(index["key_schema"]), "Projection": index["projection"]}
            for index in sorted(schema["global_secondary_indexes"], key=lambda i: i["index_name"])
        ]
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream}
    ttl = model._ttl_attribute()  # noqa: SLF001
    if ttl is not None:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    # ... and if the stack is deleted on purpose, the tables stay (to be exported, then deleted by hand).
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": props}


def ses_event_resources() -> dict[str, Any]:
    """The SNS topic SES publishes to (only SES, for this stack's configuration set, may publish),
    the configuration set and its event destination."""
    configuration_set_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:"
                                        f"configuration-set/{CONFIGURATION_SET_NAME}"}
    return {
        # Not encrypted with the AWS-managed SNS key: SES cannot publish to a topic encrypted with it
        # (its key policy cannot grant SES). Messages are kept only until delivered to the function.
        "SesEventsTopic": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": "Community Trigger: SES delivery reports"}},
        "SesEventsTopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "SesEventsTopic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "SesPublishesThisStacksEvents", "Effect": "Allow",
                "Principal": {"Service": "ses.amazonaws.com"}, "Action": "sns:Publish",
                "Resource": {"Ref": "SesEventsTopic"},
                "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"},
                                               "AWS:SourceArn": configuration_set_arn}}}]}}},
        "SesConfigurationSet": {"Type": "AWS::SES::ConfigurationSet", "Properties": {
            "Name": {"Fn::Sub": CONFIGURATION_SET_NAME}}},
        "SesEventDestination": {"Type": "AWS::SES::ConfigurationSetEventDestination",
                                "DependsOn": "SesEventsTopicPolicy", "Properties": {
            "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
            "EventDestination": {"Name": "letter-receipts", "Enabled": True,
                                 "MatchingEventTypes": ["delivery", "bounce", "complaint", "reject"],
                                 "SnsDestination": {"TopicARN": {"Ref": "SesEventsTopic"}}}}},
    }


def build() -> dict[str, Any]:
    resources: dict[str, Any] = {_logical_id(m): table_resource(m) for m in ALL_TABLES}
    resources.update(ses_event_resources())
    variables = {
        "TABLE_PREFIX": {"Ref": "AWS::StackName"},
        # PUBLIC_API_URL, FORM_SITE_URL, FORM_ORIGINS, CONSOLE_BASE_URL: infra/stack/site.py
        # JWT_*, JWKS_URL, *_CLAIM, OIDC_* but the scopes: infra/stack/identity.py (Cognito or Entra ID).
        "OIDC_SCOPES": {"Ref": "OidcScopes"},
        "SES_CONFIGURATION_SET": {"Ref": "SesConfigurationSet"},
    }
    for function in FUNCTIONS:
        resources[function] = {"Properties": {"Environment": {"Variables": variables}}}
    resources[STREAM_FUNCTION]["Properties"]["Events"] = {STREAM_EVENT: {"Type": "DynamoDB", "Properties": {
        "Stream": {"Fn::GetAtt": [STREAM_TABLE, "StreamArn"]},
        # A batch that fails is split to find the one record at fault; each record is tried a bounded
        # number of times (the letters stay pending for the retry schedule) and then recorded here.
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # Up to 4 batches of a shard at once (each letter is claimed, so order does not matter): a
        # sweep that stores hundreds of reminders at 09:00 is sent in seconds, not minutes.
        "ParallelizationFactor": 4,
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 10,
        "MaximumRecordAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [DEAD_LETTERS, "Arn"]}}},
    }}}
    resources[DEAD_LETTERS] = {"Type": "AWS::SQS::Queue", "Properties": {
        "MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True}}
    # chalice makes the subscription's topic {"Fn::Sub": "arn:...:<the decorator's name>"}; the merge
    # (key by key) replaces that Sub's string, so it names this stack's own topic (its ARN), which
    # CloudFormation then creates first. A {"Ref": ...} here would be merged in beside the Sub.
    resources[RECEIPTS_FUNCTION]["Properties"]["Events"] = {
        RECEIPTS_EVENT: {"Type": "SNS", "Properties": {"Topic": {"Fn::Sub": "${SesEventsTopic}"}}}}
    # SNS invokes the function asynchronously: an event it still fails on after Lambda's two retries
    # (DynamoDB unreachable) is kept here for 14 days, not dropped.
    resources[RECEIPTS_FUNCTION]["Properties"]["DeadLetterQueue"] = {
        "Type": "SQS", "TargetArn": {"Fn::GetAtt": [RECEIPTS_DEAD_LETTERS, "Arn"]}}
    resources[RECEIPTS_DEAD_LETTERS] = {"Type": "AWS::SQS::Queue", "Properties": {
        "MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True}}
    template: dict[str, Any] = {"Parameters": dict(PARAMETERS), "Resources": resources}
    for part in stack.fragments():
        extra = dict(part)
        part_variables = extra.pop("Variables", {})
        stack.merge(template, extra)
        stack.merge(variables, part_variables)  # the same dict every function's Environment holds
    # RestAPI refers to the API's function and its authorizer, so their settings must not refer to
    # RestAPI: they get the API's address only where the council's domain gives it.
    from infra.stack import site

    for function in REFERRED_TO_BY_API:
        resources[function]["Properties"]["Environment"]["Variables"] = {**variables, "PUBLIC_API_URL": site.API_URL_IN_API}
    return template


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run `python -m infra.build_template`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

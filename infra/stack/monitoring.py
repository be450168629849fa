"""Monitoring: every function's log group (with a retention), API throttling, and CloudWatch alarms
to an SNS topic the council subscribes to (AlarmEmail).

Alarms: each function's Errors and Throttles; the API's 5XX responses; a message in any dead-letter
queue; a letter the outbox gave up on (the `letter_failed` log line, counted by a metric filter);
the deadline sweep or the letter retry not running on schedule.
"""
from __future__ import annotations

import json
import re
from typing import Any

PARAMETERS = {
    "AlarmEmail": {"Type": "String", "Default": "",
                   "Description": "Who is emailed when an alarm fires or clears (confirm the subscription "
                                  "email AWS sends); empty: subscribe to the AlarmTopicArn output yourself"},
    # The values CloudWatch Logs accepts for a log group's retention.
    "LogRetentionDays": {"Type": "Number", "Default": "365",
                         "AllowedValues": ["1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365",
                                           "400", "545", "731", "1096", "1827", "2192", "2557", "2922", "3288",
                                           "3653"],
                         "Description": "How many days the functions' logs are kept"},
    "ApiThrottleRate": {"Type": "Number", "Default": "25", "MinValue": 1,
                        "Description": "Requests per second the API accepts (steady rate), across all callers"},
    "ApiThrottleBurst": {"Type": "Number", "Default": "50", "MinValue": 1,
                         "Description": "Requests the API accepts at once above the steady rate"},
}

TOPIC = "AlarmTopic"
NAMESPACE = "CommunityTrigger/${AWS::StackName}"  # one per stack: two stacks in an account stay apart
# Anonymous public forms get their own, lower limits, so a flood of posts cannot use up the limit
# staff and partners need. Per method, these override the stage-wide ApiThrottleRate/Burst.
PUBLIC_POSTS = {"/applications": (5, 10), "/partner/{token}": (5, 10)}

# chalicelib/sweep.py logs this line when it gives up on a letter (status failed, the SPOC told).
LETTER_FAILED_EVENT = "letter_failed"
LETTER_FAILED_PATTERN = '{ $.event = "letter_failed" }'
LETTER_FAILED_METRIC = "LettersFailed"
# Functions that run the letter retry (the sweep also retries letters in each area).
LETTER_FAILED_LOGGERS = ("DeadlineSweep", "LetterRetry")

# The schedules (chalicelib/routes/schedule.py, letters.py): the sweep hourly 06:00-19:00 UTC Monday
# to Friday, the retry every 5 minutes. Outside the sweep's hours a missing run is not a failure.
SWEEP_FUNCTION, SWEEP_DAYS, SWEEP_HOURS = "DeadlineSweep", (1, 5), (6, 19)  # DAY(): 1 = Monday; UTC hours
RETRY_FUNCTION, RETRY_WINDOW = "LetterRetry", 1800  # seconds without a run before the alarm


def log_group(function: str) -> str:
    return f"{function}LogGroup"


def _name(what: str) -> dict[str, str]:
    return {"Fn::Sub": f"${{AWS::StackName}}-{what}"}


def _alarm(what: str, description: str, **properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": _name(what), "AlarmDescription": description,
        "AlarmActions": [{"Ref": TOPIC}], "OKActions": [{"Ref": TOPIC}],
        "TreatMissingData": "notBreaching", **properties}}


def _at_least_one(what: str, description: str, namespace: Any, metric: str, dimensions: list[dict[str, Any]],
                  statistic: str = "Sum") -> dict[str, Any]:
    return _alarm(what, description, Namespace=namespace, MetricName=metric, Dimensions=dimensions,
                  Statistic=statistic, Period=300, EvaluationPeriods=1, Threshold=1,
                  ComparisonOperator="GreaterThanOrEqualToThreshold")


def _queues() -> list[str]:
    """Every SQS queue of the stack: build_template's dead-letter queues and any another part adds."""
    from infra import build_template, stack

    found = {build_template.DEAD_LETTERS, build_template.RECEIPTS_DEAD_LETTERS}
    for name in stack.PARTS:
        if name != __name__.rsplit(".", 1)[-1]:
            from importlib import import_module
            resources = import_module(f"{stack.__name__}.{name}").fragment().get("Resources", {})
            found |= {key for key, value in resources.items() if value.get("Type") == "AWS::SQS::Queue"}
    return sorted(found)


def sweep_expression() -> str:
    """1 outside the sweep's schedule, else its invocations that hour (none: no data, which breaches).
    TIME_SERIES gives a datapoint every hour even when the function has none."""
    first_day, last_day = SWEEP_DAYS
    first_hour, last_hour = SWEEP_HOURS
    return (f"IF(DAY(hours) >= {first_day} AND DAY(hours) <= {last_day} AND HOUR(hours) >= {first_hour} "
            f"AND HOUR(hours) <= {last_hour}, FILL(invocations, 0), 1)")


def fragment() -> dict[str, Any]:
    from infra.build_template import FUNCTIONS

    resources: dict[str, Any] = {
        # Not encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and an
        # alarm's message holds only the alarm's name, metric and state (no personal data).
        TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "Community Trigger alarms"}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
            "TopicArn": {"Ref": TOPIC}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
    }
    for function in FUNCTIONS:
        # The function logs here, not to a group Lambda would create on first use and keep forever.
        resources[log_group(function)] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete",
                                          "UpdateReplacePolicy": "Delete", "Properties": {
            "LogGroupName": {"Fn::Sub": f"/community-trigger/${{AWS::StackName}}/{function}"},
            "RetentionInDays": {"Ref": "LogRetentionDays"}}}
        # Text: the app prints its own JSON lines (chalicelib/logs.py), which CloudWatch keeps as they
        # are and the metric filters read as JSON.
        resources[function] = {"Properties": {"LoggingConfig": {
            "LogGroup": {"Ref": log_group(function)}, "LogFormat": "Text"}}}
        dimensions = [{"Name": "FunctionName", "Value": {"Ref": function}}]
        resources[f"{function}ErrorsAlarm"] = _at_least_one(
            f"{function}-errors", f"The {function} function failed (see its log group)",
            "AWS/Lambda", "Errors", dimensions)
        resources[f"{function}ThrottlesAlarm"] = _at_least_one(
            f"{function}-throttles", f"The {function} function was throttled (the account's concurrency is used up)",
            "AWS/Lambda", "Throttles", dimensions)
    resources["Api5xxAlarm"] = _at_least_one(
        "api-5xx", "The API answered with a server error (5XX)", "AWS/ApiGateway", "5XXError",
        [{"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}}, {"Name": "Stage", "Value": "api"}])
    for queue in _queues():
        resources[f"{queue}Alarm"] = _at_least_one(
            f"{queue}-messages", f"A message is waiting in {queue}: something could not be processed "
                                 "after its retries (see the README)",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}], statistic="Maximum")
    for function in LETTER_FAILED_LOGGERS:
        resources[f"{function}LetterFailedFilter"] = {"Type": "AWS::Logs::MetricFilter", "Properties": {
            "LogGroupName": {"Ref": log_group(function)}, "FilterPattern": LETTER_FAILED_PATTERN,
            "MetricTransformations": [{"MetricNamespace": {"Fn::Sub": NAMESPACE}, "MetricName": LETTER_FAILED_METRIC,
                                       "MetricValue": "1", "Unit": "Count"}]}}
    resources["LettersFailedAlarm"] = _at_least_one(
        "letters-failed", "A letter could not be sent after every retry: the SPOC has been emailed about it",
        {"Fn::Sub": NAMESPACE}, LETTER_FAILED_METRIC, [])
    resources["SweepNotRunAlarm"] = _alarm(
        "sweep-not-run", "The deadline sweep did not run for two scheduled hours: reminders and escalations wait",
        TreatMissingData="breaching", EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1,
        ComparisonOperator="LessThanThreshold", Metrics=[
            {"Id": "invocations", "ReturnData": False, "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                           "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": SWEEP_FUNCTION}}]},
                "Period": 3600, "Stat": "Sum"}},
            {"Id": "hours", "ReturnData": False, "Expression": "TIME_SERIES(0)", "Period": 3600},
            {"Id": "scheduled", "ReturnData": True, "Expression": sweep_expression(), "Period": 3600,
             "Label": "Sweep runs in its scheduled hours"}])
    resources["LetterRetryNotRunAlarm"] = _alarm(
        "letter-retry-not-run", "The letter retry did not run for 30 minutes: letters SES refused wait",
        TreatMissingData="breaching", Namespace="AWS/Lambda", MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": {"Ref": RETRY_FUNCTION}}], Statistic="Sum",
        Period=RETRY_WINDOW, EvaluationPeriods=1, Threshold=1, ComparisonOperator="LessThanThreshold")
    method_settings = [{"ResourcePath": "/*", "HttpMethod": "*",
                        "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
                        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"}}]
    for path, (rate, burst) in PUBLIC_POSTS.items():
        # MethodSettings name a resource with its slashes written ~1
        method_settings.append({"ResourcePath": path.replace("/", "~1").replace("~1", "/~1", 1),
                                "HttpMethod": "POST", "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst})
    # chalice writes RestAPI; the name makes its ApiName metrics this stack's alone (chalice's
    # OpenAPI title, the app's name, would be shared by every stack in the account).
    resources["RestAPI"] = {"Properties": {"Name": {"Ref": "AWS::StackName"}, "MethodSettings": method_settings}}
    return {
        "Parameters": PARAMETERS,
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": {"AlarmTopicArn": {"Description": "The SNS topic the alarms publish to",
                                      "Value": {"Ref": TOPIC}}},
    }


# ------------------------------------------------------------------ for the tests

_TERM = re.compile(r'\$\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"')


def json_filter_matches(pattern: str, line: str) -> bool:
    """Whether CloudWatch Logs would count `line` for `pattern`, for the patterns this stack uses:
    `{ $.field = "value" && ... }` (exact string equality on top-level fields of a JSON line)."""
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"not a JSON filter pattern: {pattern}")
    terms = [t.strip() for t in body[1:-1].split("&&")]
    parsed = [_TERM.fullmatch(t) for t in terms]
    if not all(parsed):
        raise ValueError(f"unsupported filter pattern: {pattern}")
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and all(entry.get(m.group(1)) == m.group(2) for m in parsed)

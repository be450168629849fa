"""The packaged template's monitoring (infra/stack/monitoring.py): log groups with a retention for
every function, API throttling, and alarms to the council's topic."""
from __future__ import annotations

import io
import logging
import re
from datetime import datetime

import pytest

from chalicelib.logs import JsonFormatter
from infra.stack import monitoring

pytestmark = pytest.mark.slow


def of_type(sam, kind):
    return {k: v for k, v in sam["Resources"].items() if v["Type"] == kind}


def functions(sam):
    return of_type(sam, "AWS::Serverless::Function")


def alarms(sam):
    return of_type(sam, "AWS::CloudWatch::Alarm")


def dimension(alarm, name):
    return next(d["Value"] for d in alarm["Properties"].get("Dimensions", []) if d["Name"] == name)


def test_parameters_have_defaults_and_the_topic_is_an_output(sam):
    params = sam["Parameters"]
    assert {n: params[n]["Default"] for n in ("AlarmEmail", "LogRetentionDays", "ApiThrottleRate", "ApiThrottleBurst")} == {
        "AlarmEmail": "", "LogRetentionDays": "365", "ApiThrottleRate": "25", "ApiThrottleBurst": "50"}
    assert all(params[n]["Description"] for n in monitoring.PARAMETERS)
    assert {"1", "30", "365", "3653"} <= set(params["LogRetentionDays"]["AllowedValues"])
    assert "2" not in params["LogRetentionDays"]["AllowedValues"]  # CloudWatch would refuse it
    assert sam["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    [subscription] = of_type(sam, "AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_every_function_logs_to_its_own_group_kept_for_the_retention(sam):
    groups = of_type(sam, "AWS::Logs::LogGroup")
    from infra.build_template import FUNCTIONS

    assert sorted(functions(sam)) == sorted(FUNCTIONS)
    for name, function in functions(sam).items():
        config = function["Properties"]["LoggingConfig"]
        group = groups[config["LogGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert name in group["Properties"]["LogGroupName"]["Fn::Sub"]
    assert len({g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups.values()}) == len(groups)


def test_every_function_has_an_errors_and_a_throttles_alarm_to_the_topic(sam):
    for name in functions(sam):
        watched = {a["Properties"]["MetricName"] for a in alarms(sam).values()
                   if a["Properties"].get("Namespace") == "AWS/Lambda"
                   and dimension(a, "FunctionName") == {"Ref": name}}
        assert {"Errors", "Throttles"} <= watched, name
    for alarm in alarms(sam).values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}] and props["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")
    names = [a["Properties"]["AlarmName"]["Fn::Sub"] for a in alarms(sam).values()]
    assert len(names) == len(set(names))


def test_every_queue_has_an_alarm_on_a_visible_message(sam):
    queues = of_type(sam, "AWS::SQS::Queue")
    assert {"LetterStreamDeadLetterQueue", "SesReceiptsDeadLetterQueue"} <= set(queues)
    for queue in queues:
        [alarm] = [a for a in alarms(sam).values() if a["Properties"].get("Namespace") == "AWS/SQS"
                   and dimension(a, "QueueName") == {"Fn::GetAtt": [queue, "QueueName"]}]
        assert alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Properties"]["Threshold"] == 1


def test_api_5xx_alarm_names_this_stacks_api(sam):
    assert sam["Resources"]["RestAPI"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}
    [alarm] = [a for a in alarms(sam).values() if a["Properties"].get("Namespace") == "AWS/ApiGateway"]
    assert alarm["Properties"]["MetricName"] == "5XXError"
    assert dimension(alarm, "ApiName") == {"Ref": "AWS::StackName"} and dimension(alarm, "Stage") == "api"


def test_throttling_reaches_the_stage_and_public_posts_are_stricter(sam):
    api = sam["Resources"]["RestAPI"]["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRate"}
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurst"}
    paths = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    for path in ("/applications", "/partner/{token}"):
        assert "post" in paths[path]  # a route that exists, so the setting applies to something
        setting = settings[("/~1" + path[1:].replace("/", "~1"), "POST")]  # slashes are written ~1
        assert setting["ThrottlingRateLimit"] < 25 and setting["ThrottlingBurstLimit"] < 50


def letter_failed_line() -> str:
    """The line chalicelib/sweep.py prints when it gives up on a letter, from its own logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("chalicelib.sweep")
    logger.addHandler(handler)
    try:
        logger.warning(monitoring.LETTER_FAILED_EVENT, extra={"ref": "CT-ABCD-EFGH", "letter": "01", "step": "acknowledge"})
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().strip()


def test_the_letters_failed_filter_counts_the_line_the_sweep_logs(sam):
    filters = of_type(sam, "AWS::Logs::MetricFilter")
    assert {f["Properties"]["LogGroupName"]["Ref"] for f in filters.values()} == {"DeadlineSweepLogGroup", "LetterRetryLogGroup"}
    line = letter_failed_line()
    for f in filters.values():
        pattern = f["Properties"]["FilterPattern"]
        assert monitoring.json_filter_matches(pattern, line)
        assert not monitoring.json_filter_matches(pattern, line.replace("letter_failed", "letter_send_failed"))
        assert not monitoring.json_filter_matches(pattern, "letter_failed")  # a plain-text line is not JSON
        [transformation] = f["Properties"]["MetricTransformations"]
        [alarm] = [a for a in alarms(sam).values() if a["Properties"].get("MetricName") == transformation["MetricName"]]
        assert alarm["Properties"]["Namespace"] == transformation["MetricNamespace"]
        assert alarm["Properties"]["Threshold"] == 1
        assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_letter_retry_not_running_for_30_minutes_alarms_and_missing_data_breaches(sam):
    assert sam["Resources"]["LetterRetry"]["Properties"]["Events"]["LetterRetryEvent"]["Properties"]["Schedule"] == "rate(5 minutes)"
    props = sam["Resources"]["LetterRetryNotRunAlarm"]["Properties"]
    assert props["TreatMissingData"] == "breaching" and props["MetricName"] == "Invocations"
    assert props["Period"] * props["EvaluationPeriods"] == 1800
    assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1


DAYS = {"MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6, "SUN": 7}


def cron_runs(schedule: str, when: datetime) -> bool:
    """Whether EventBridge's cron(0 H1-H2 ? * D1-D2 *) fires in the hour starting at `when` (UTC)."""
    minute, hours, _, _, days, _ = re.fullmatch(r"cron\((.*)\)", schedule).group(1).split()
    first_hour, last_hour = map(int, hours.split("-"))
    first_day, last_day = (DAYS[d] for d in days.split("-"))
    return minute == "0" and first_hour <= when.hour <= last_hour and first_day <= when.isoweekday() <= last_day


def expression_expects_a_run(expression: str, when: datetime) -> bool:
    """Reads the alarm's IF(DAY(..) >= a AND DAY(..) <= b AND HOUR(..) >= c AND HOUR(..) <= d, ...)."""
    bounds = {(fn, op): int(v) for fn, op, v in re.findall(r"(DAY|HOUR)\(hours\) (>=|<=) (\d+)", expression)}
    day, hour = when.isoweekday(), when.hour
    return (bounds[("DAY", ">=")] <= day <= bounds[("DAY", "<=")]
            and bounds[("HOUR", ">=")] <= hour <= bounds[("HOUR", "<=")])


@pytest.mark.parametrize("when, runs", [
    ("2026-12-24T19:00", True), ("2026-12-24T20:00", False),  # Christmas Eve, Thursday: the last run 19:00 UTC
    ("2026-12-25T10:00", True),   # Christmas Day (Friday): EventBridge still runs it; the sweep skips inside
    ("2026-12-26T10:00", False), ("2026-12-27T10:00", False),  # the weekend: no run is expected
    ("2027-01-01T06:00", True), ("2027-01-01T05:00", False),   # New Year's Day, first hour
    ("2027-01-31T12:00", False), ("2027-02-01T06:00", True),   # 31 Jan is a Sunday
    ("2027-02-28T12:00", False), ("2027-03-01T19:00", True),   # 28 Feb a Sunday
    ("2027-03-26T12:00", True), ("2027-03-27T12:00", False),   # Good Friday, Easter Saturday
    ("2027-03-29T06:00", True),   # Easter Monday
    ("2027-08-31T19:00", True), ("2027-08-31T20:00", False),   # 31 Aug, a Tuesday
    ("2028-02-29T12:00", True),   # 29 Feb 2028, a Tuesday
])
def test_the_sweep_not_run_alarm_expects_a_run_exactly_in_the_hours_it_is_scheduled(sam, when, runs):
    schedule = sam["Resources"]["DeadlineSweep"]["Properties"]["Events"]["DeadlineSweepEvent"]["Properties"]["Schedule"]
    props = sam["Resources"]["SweepNotRunAlarm"]["Properties"]
    [expression] = [m["Expression"] for m in props["Metrics"] if m.get("ReturnData")]
    at = datetime.fromisoformat(when)
    assert cron_runs(schedule, at) is runs
    assert expression_expects_a_run(expression, at) is runs


def test_the_sweep_not_run_alarm_treats_missing_data_as_breaching(sam):
    props = sam["Resources"]["SweepNotRunAlarm"]["Properties"]
    assert props["TreatMissingData"] == "breaching"
    metrics = {m["Id"]: m for m in props["Metrics"]}
    assert metrics["invocations"]["MetricStat"]["Metric"]["MetricName"] == "Invocations"
    assert metrics["invocations"]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "DeadlineSweep"}}]
    assert metrics["hours"]["Expression"] == "TIME_SERIES(0)"  # a datapoint every hour, run or not
    # two scheduled hours in a row without a run
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == 2
    assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1
    assert {m.get("Period") for m in props["Metrics"] if "Expression" in m} == {3600}

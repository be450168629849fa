"""Fast checks that the infrastructure files agree with the code (one source of truth)."""
from __future__ import annotations

import json
from pathlib import Path

from chalicelib.adapters.tables import ALL_TABLES, table_suffix
from infra import build_template

REPO = Path(__file__).resolve().parents[2]


def test_resources_json_is_generated_from_the_models():
    assert (REPO / "infra" / "resources.json").read_text() == build_template.render(), \
        "infra/resources.json is stale: run `make template`"


def _policies() -> dict[str, dict]:
    """Each function's hand-written policy (.chalice/config.json: lambda_functions.<name>.iam_policy_file)."""
    functions = json.loads((REPO / ".chalice" / "config.json").read_text())["stages"]["dev"]["lambda_functions"]
    return {name: json.loads((REPO / ".chalice" / entry["iam_policy_file"]).read_text())
            for name, entry in functions.items() if "iam_policy_file" in entry}


def test_iam_policies_name_every_table_and_nothing_else():
    arns = json.dumps(list(_policies().values()))
    for model in ALL_TABLES:
        suffix = table_suffix(model)
        assert f"table/${{AWS::StackName}}-{suffix}" in arns
    assert "table/*" not in arns and '"*"' not in arns


def test_config_keeps_a_hand_written_policy_for_each_function():
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    functions = config["stages"]["dev"]["lambda_functions"]
    for name in ("api_handler", "staff_auth", "deadline_sweep", "letter_sender", "letter_retry", "ses_receipts"):
        assert functions[name]["iam_policy_file"] == f"policy-{name}.json"


def test_ses_reports_delivery_bounce_complaint_and_reject_to_a_topic_only_it_may_publish_to():
    resources = build_template.build()["Resources"]
    destination = resources["SesEventDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "SesConfigurationSet"}
    events = destination["EventDestination"]
    assert set(events["MatchingEventTypes"]) == {"delivery", "bounce", "complaint", "reject"}
    assert events["SnsDestination"]["TopicARN"] == {"Ref": "SesEventsTopic"}
    [statement] = resources["SesEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"].endswith(
        f"configuration-set/{build_template.CONFIGURATION_SET_NAME}")
    for function in build_template.FUNCTIONS:
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env["SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}


def test_the_roles_that_send_may_send_through_this_stacks_configuration_set_and_no_other():
    senders = 0
    for policy in _policies().values():
        for send in [s for s in policy["Statement"] if "ses:SendEmail" in s["Action"]]:
            senders += 1
            arns = [r["Fn::Sub"] for r in send["Resource"]]
            assert any(a.endswith(":identity/*") for a in arns)
            assert [a for a in arns if ":configuration-set/" in a] == [
                f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/"
                f"{build_template.CONFIGURATION_SET_NAME}"]
    assert senders


def test_the_receipts_handler_is_the_function_the_template_subscribes():
    from app import app

    handlers = {h.name: h for h in app.event_sources if getattr(h, "topic", None)}
    assert set(handlers) == {"ses_receipts"}
    # chalice names the function and its SNS event from the handler's name; the template must match.
    assert build_template.RECEIPTS_FUNCTION == "SesReceipts"
    assert build_template.RECEIPTS_EVENT in build_template.build()["Resources"]["SesReceipts"]["Properties"]["Events"]

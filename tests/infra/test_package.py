"""Infrastructure: the deployment package and the CloudFormation it ships with.

`chalice package` ships only app.py, chalicelib/ and vendor/; these tests prove the build step
puts the templates and policies inside, that a policy loads and a letter renders from the
unzipped package alone, and that the template is valid CloudFormation."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from chalicelib.adapters.tables import ALL_TABLES, table_suffix

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run(["bash", str(REPO / "infra" / "package.sh"), str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_zip_contains_templates_and_policies(package):
    names = set(zipfile.ZipFile(package / "deployment.zip").namelist())
    for policy in (REPO / "policies").glob("*.toml"):
        assert f"chalicelib/_bundle/policies/{policy.name}" in names
    for template in (p for p in (REPO / "templates").rglob("*") if p.is_file()):
        assert f"chalicelib/_bundle/templates/{template.relative_to(REPO / 'templates')}" in names
    assert "app.py" in names


def test_zip_contains_the_console_assets_the_manifest_lists(package):
    archive = zipfile.ZipFile(package / "deployment.zip")
    names = set(archive.namelist())
    manifest = json.loads(archive.read("chalicelib/_bundle/console-assets/manifest.json"))
    assert {"console.css", "console.js", "supported.js"} <= set(manifest["logical"])
    for built in manifest["files"]:
        assert f"chalicelib/_bundle/console-assets/{built}" in names
    assert not any(n.startswith("chalicelib/_bundle/console-assets/") and n.endswith(".inputs") for n in names)


def test_policy_loads_and_letter_renders_from_the_unzipped_package_alone(package, tmp_path):
    zipfile.ZipFile(package / "deployment.zip").extractall(tmp_path)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from datetime import date
        from chalicelib import wiring, resources
        assert str(resources.resource_root()).startswith({str(tmp_path)!r}), resources.resource_root()
        policy = wiring.policies()["hart"]
        from chalicelib.outbox import Person, letter_context
        person = Person("Pat Lee", ("1 High Street", "Fleet", "GU51 4AE"), "pat@example.com", "email")
        ctx = letter_context(policy=policy, step="acknowledgement", ref="CT-7K3M-9QXR", letter_date=date(2026, 12, 21), recipient=person,
                             role="applicant", applicant=person, victim=person, on_behalf=False,
                             deadlines={{"acknowledge": date(2026, 12, 30), "threshold_decision": date(2027, 1, 14)}},
                             assessment_meeting=None)
        letter = wiring.renderer().render(policy.letters["acknowledgement"], ctx)
        assert "CT-7K3M-9QXR" in letter.html and "Thursday 14 January 2027" in letter.text
        from chalicelib import console_assets
        assert str(resources.console_assets_dir()).startswith({str(tmp_path)!r}), resources.console_assets_dir()
        asset = console_assets.find(*console_assets.manifest()["logical"]["console.css"].split("/"))
        assert asset is not None and "govuk-header" in asset.body
        import pydantic, jinja2
        assert pydantic.__file__.startswith({str(tmp_path)!r}), pydantic.__file__
        print("ok", letter.subject)
    """)
    # -S: no site-packages, so every import must come from the package itself.
    result = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-2"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")


def test_generated_template_is_valid_cloudformation(package):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(package / "sam.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_has_every_table_with_its_indexes_and_the_least_privilege_role(package):
    template = json.loads((package / "sam.json").read_text())
    resources = template["Resources"]
    tables = {r["Properties"]["TableName"]["Fn::Sub"]: r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"}
    for model in ALL_TABLES:
        suffix = table_suffix(model)
        table = tables[f"${{AWS::StackName}}-{suffix}"]
        indexes = {i["IndexName"] for i in table["Properties"].get("GlobalSecondaryIndexes", [])}
        assert indexes == {i.Meta.index_name for i in model._indexes.values()}
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["TABLE_PREFIX"] == {"Ref": "AWS::StackName"}
    role = resources["ApiHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = {a for s in role["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert not any(a.endswith("*") for a in actions), "no wildcard actions"
    assert "dynamodb:Scan" not in actions and "dynamodb:DeleteTable" not in actions


def test_the_receipts_function_is_subscribed_to_the_stacks_own_ses_topic(package):
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    function = resources["SesReceipts"]
    assert function["Properties"]["Handler"] == "chalicelib.routes.notifications.ses_receipts"
    [event] = function["Properties"]["Events"].values()
    # Exactly the stack's topic (its ARN): chalice's own ARN-from-a-name must not survive the merge.
    assert event == {"Type": "SNS", "Properties": {"Topic": {"Fn::Sub": "${SesEventsTopic}"}}}
    assert resources["SesEventsTopic"]["Type"] == "AWS::SNS::Topic"
    assert resources["SesConfigurationSet"]["Type"] == "AWS::SES::ConfigurationSet"
    assert resources["SesEventDestination"]["Type"] == "AWS::SES::ConfigurationSetEventDestination"
    env = function["Properties"]["Environment"]["Variables"]
    assert env["SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}
    assert resources["APIHandler"]["Properties"]["Environment"]["Variables"]["SES_CONFIGURATION_SET"] == \
        {"Ref": "SesConfigurationSet"}
    role = resources["SesReceiptsRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = {a for s in role["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert "dynamodb:Scan" not in actions and not any(a.endswith("*") for a in actions)

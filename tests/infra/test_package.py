"""Infrastructure: the deployment package and the CloudFormation it ships with.

`chalice package` ships only app.py, chalicelib/ and vendor/; these tests prove the build step
puts the templates and policies inside, that the app imports, a policy loads and a letter renders from the
unzipped package with only the Lambda runtime's own libraries beside it (the zip leaves boto3
and its stack to the runtime), and that the template is valid CloudFormation."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import holidays
import pytest

from chalicelib.adapters.tables import ALL_TABLES, table_suffix
from chalicelib.domain.calendar import NATIONS
from infra import slim_package

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


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


# What the Lambda python3.11 runtime has in its own site-packages: boto3 and what it needs.
RUNTIME_LIBRARIES = (*slim_package.RUNTIME_PROVIDED, "dateutil", "six.py")
SIZE_LIMIT = 8_000_000  # bytes: the target for the zip


@pytest.fixture(scope="module")
def runtime_site_packages(tmp_path_factory) -> Path:
    """A stand-in for the runtime's site-packages: the venv's boto3 stack, linked. RUNTIME_SITE_PACKAGES
    names another directory instead (e.g. `pip install --target DIR boto3==X`, to try an older SDK)."""
    if os.environ.get("RUNTIME_SITE_PACKAGES"):
        return Path(os.environ["RUNTIME_SITE_PACKAGES"])
    venv = Path(holidays.__file__).parents[1]
    runtime = tmp_path_factory.mktemp("runtime-site-packages")
    for name in RUNTIME_LIBRARIES:
        (runtime / name).symlink_to(venv / name)
    return runtime


def test_zip_is_small_and_leaves_the_runtimes_libraries_out(package):
    archive = package / "deployment.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert archive.stat().st_size <= SIZE_LIMIT, f"{archive.stat().st_size:,} bytes"
    tops = {n.split("/")[0] for n in names}
    for left_out in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dns", "pycparser"):
        assert not {t for t in tops if t == left_out or t.lower().startswith(f"{left_out}-")}, left_out
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyi", "/RECORD"))]
    assert sorted(n for n in names if n.startswith("holidays/countries/")) == [
        "holidays/countries/__init__.py", "holidays/countries/united_kingdom.py"]
    assert sorted(n for n in names if n.startswith("holidays/locale/")) == sorted(slim_package.HOLIDAY_LOCALES)
    assert sorted(n for n in names if n.startswith("tzdata/zoneinfo/") and not n.endswith("__init__.py")) == [
        "tzdata/zoneinfo/Europe/London", "tzdata/zoneinfo/UTC"]
    # dateutil and six stay: holidays needs them
    assert {"dateutil", "six.py", "holidays", "cryptography", "pydantic_core", "_cffi_backend.cpython-311-x86_64-linux-gnu.so"} <= tops


def test_slim_package_runs_with_only_the_runtimes_libraries_beside_it(package, runtime_site_packages, tmp_path):
    """What the Lambda does at a cold start and in a request, from the unzipped package first on
    sys.path (as /var/task is) and the runtime's boto3 stack after it: import app, load the
    policies, render a letter, count working days over the UK's bank holidays, verify RS256 and
    ES256 tokens, check an email address, and know Europe/London without the OS's zone files."""
    root = tmp_path / "task"
    zipfile.ZipFile(package / "deployment.zip").extractall(root)
    years = (2026, 2027, 2028)
    expected = {nation: {str(d): name for y in years
                         for d, name in holidays.country_holidays("GB", subdiv=nation, years=y).items()}
                for nation in NATIONS}
    script = textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {str(root)!r})
        sys.path.append({str(runtime_site_packages)!r})
        TASK, RUNTIME = {str(root)!r}, {str(runtime_site_packages)!r}
        from datetime import date, datetime

        import app
        from chalicelib import wiring
        policy = wiring.policies()["hart"]
        from chalicelib.outbox import Person, letter_context
        person = Person("Pat Lee", ("1 High Street", "Fleet", "GU51 4AE"), "pat@example.com", "email")
        ctx = letter_context(policy=policy, step="acknowledgement", ref="CT-7K3M-9QXR", letter_date=date(2027, 3, 25),
                             recipient=person, role="applicant", applicant=person, victim=person, on_behalf=False,
                             deadlines={{"acknowledge": date(2027, 4, 1), "threshold_decision": date(2027, 4, 15)}},
                             assessment_meeting=None)
        letter = wiring.renderer().render(policy.letters["acknowledgement"], ctx)
        assert "CT-7K3M-9QXR" in letter.html and "Thursday 15 April 2027" in letter.text, letter.text
        from chalicelib import console_assets, resources
        assert str(resources.resource_root()).startswith(TASK), resources.resource_root()
        assert str(resources.console_assets_dir()).startswith(TASK), resources.console_assets_dir()
        asset = console_assets.find(*console_assets.manifest()["logical"]["console.css"].split("/"))
        assert asset is not None and "govuk-header" in asset.body

        import holidays
        from chalicelib.domain.calendar import WorkingCalendar
        got = {{n: {{str(d): name for y in {years!r} for d, name in holidays.country_holidays("GB", subdiv=n, years=y).items()}}
               for n in {list(NATIONS)!r}}}
        assert got == json.loads({json.dumps(expected)!r}), "the trimmed holidays differ from the full library"
        eng, sct = WorkingCalendar("ENG"), WorkingCalendar("SCT")
        def name(calendar, day):
            return (calendar.nation, str(day), calendar.holiday_name(day))
        assert name(eng, date(2027, 3, 29)) == ("ENG", "2027-03-29", "Easter Monday")
        assert name(sct, date(2027, 3, 29)) == ("SCT", "2027-03-29", None)  # not a bank holiday in Scotland
        assert name(eng, date(2027, 8, 30)) == ("ENG", "2027-08-30", "Late Summer Bank Holiday")
        assert name(sct, date(2027, 8, 30)) == ("SCT", "2027-08-30", None)
        assert name(sct, date(2027, 8, 2)) == ("SCT", "2027-08-02", "Summer Bank Holiday")
        assert name(eng, date(2027, 12, 28)) == ("ENG", "2027-12-28", "Boxing Day (observed)")
        # Good Friday 26 March (both) and Easter Monday 29 March 2027 (England only) are skipped
        assert eng.working_days_after(date(2027, 3, 25), 2) == date(2027, 3, 31)
        assert sct.working_days_after(date(2027, 3, 25), 2) == date(2027, 3, 30)
        try:
            holidays.country_holidays("FR")
        except NotImplementedError:
            pass
        else:
            raise AssertionError("only the UK is shipped")

        import zoneinfo
        assert zoneinfo.TZPATH == (), zoneinfo.TZPATH  # no OS zone files: the tzdata package must serve
        from chalicelib.clock import LONDON
        assert LONDON.utcoffset(datetime(2027, 7, 1)).total_seconds() == 3600
        assert LONDON.utcoffset(datetime(2027, 1, 1)).total_seconds() == 0
        assert zoneinfo.ZoneInfo("UTC").utcoffset(datetime(2027, 7, 1)).total_seconds() == 0

        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from chalicelib.auth import TokenVerifier
        for alg, key in (("RS256", rsa.generate_private_key(65537, 2048)), ("ES256", ec.generate_private_key(ec.SECP256R1()))):
            now = int(time.time())
            token = jwt.encode({{"sub": "u1", "iss": "https://idp.example", "aud": "ct", "iat": now, "exp": now + 60,
                                "roles": ["spoc"], "areas": ["hart"]}}, key, algorithm=alg, headers={{"kid": "k"}})
            principal = TokenVerifier("https://idp.example", "ct", keys=lambda kid: key.public_key()).verify("Bearer " + token)
            assert principal.has_role("spoc") and principal.covers("hart"), alg

        from email_validator import validate_email
        assert validate_email("Pat@Example.com", check_deliverability=False).normalized == "Pat@example.com"

        import boto3, botocore, chalicelib, cryptography, dateutil, jinja2, pydantic, pydantic_core, pynamodb, six
        for module in (chalicelib, holidays, jinja2, pydantic, pydantic_core, cryptography, jwt, pynamodb, dateutil, six):
            assert module.__file__.startswith(TASK), module.__file__
        for module in (boto3, botocore):
            assert module.__file__.startswith(RUNTIME), module.__file__
        assert not {{m for m in sys.modules if m.split(".")[0] in ("dns", "cffi", "pycparser")}}
        print("ok", letter.subject)
    """)
    # -S: no site-packages; LANG as Lambda sets it; PYTHONTZPATH empty: as if the OS had no zone files.
    result = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-2", "LANG": "en_US.UTF-8",
                                 "PYTHONTZPATH": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")


def test_the_runtimes_libraries_stay_pinned_for_the_tests():
    """The package leaves boto3 and its stack to the runtime; the tests must still run against a pinned
    version of each (the one the runtime stand-in above links)."""
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (REPO / "requirements.txt").read_text(), re.MULTILINE))
    pins = {name.lower(): version for name, version in pins.items()}
    for name in slim_package.RUNTIME_PROVIDED:
        assert name in pins, f"{name} is left to the Lambda runtime but not pinned in requirements.txt"


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


def test_the_letter_sender_reads_the_letters_tables_stream_with_retries_and_a_dead_letter_queue(package):
    """chalice writes the decorator's placeholder ARN; the deployed mapping must point at the real
    stream of the letters table, report failed records one by one, and keep what it gives up on."""
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    letters = resources["LettersTable"]["Properties"]
    assert letters["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    [event] = resources["LetterSender"]["Properties"]["Events"].values()
    assert event["Type"] == "DynamoDB"
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["LettersTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and props["BisectBatchOnFunctionError"]
    assert props["StartingPosition"] == "TRIM_HORIZON" and props["MaximumRetryAttempts"] > 0
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["LetterStreamDeadLetterQueue", "Arn"]}
    assert resources["LetterStreamDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    role = resources["LetterSenderRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = {a for s in role["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams",
            "sqs:SendMessage", "ses:SendEmail"} <= granted
    assert resources["LetterSender"]["Properties"]["Environment"]["Variables"]["TABLE_PREFIX"] == {"Ref": "AWS::StackName"}
    retry = resources["LetterRetry"]["Properties"]["Events"]
    assert [e["Properties"]["Schedule"] for e in retry.values()] == ["rate(5 minutes)"]


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
    assert function["Properties"]["DeadLetterQueue"] == {
        "Type": "SQS", "TargetArn": {"Fn::GetAtt": ["SesReceiptsDeadLetterQueue", "Arn"]}}
    assert "sqs:SendMessage" in actions  # to that queue: the events it failed on are kept, not dropped


def test_a_councils_package_carries_only_its_own_areas_policies(tmp_path):
    """make deploy passes the settings' areas: a council's functions must not serve another council's areas."""
    result = subprocess.run(["bash", str(REPO / "infra" / "package.sh"), str(tmp_path)], cwd=REPO,
                            env={**os.environ, "AREAS": "hart,dacorum"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "policies ok: ['dacorum', 'hart']" in result.stdout
    names = zipfile.ZipFile(tmp_path / "deployment.zip").namelist()
    assert sorted(n for n in names if n.startswith("chalicelib/_bundle/policies/")) == [
        "chalicelib/_bundle/policies/dacorum.toml", "chalicelib/_bundle/policies/hart.toml"]


def test_a_package_for_an_area_with_no_policy_is_refused(tmp_path):
    result = subprocess.run(["bash", str(REPO / "infra" / "package.sh"), str(tmp_path)], cwd=REPO,
                            env={**os.environ, "AREAS": "hart nowhere"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "AREAS: no policy policies/nowhere.toml" in result.stderr
    assert not (tmp_path / "deployment.zip").exists()

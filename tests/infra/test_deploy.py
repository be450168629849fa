"""make deploy (infra/deploy.py): the council's settings file is checked with one clear line per
problem, the stack's parameters follow from it and match the packaged template, and a dry run with
no AWS credentials builds and checks everything and prints the AWS commands it would run."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from infra import deploy

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "infra" / "councils" / "example.toml"
EXAMPLE_ENTRA = REPO / "infra" / "councils" / "example-entra.toml"
TENANT = "3f9c2a71-8d4e-4b6a-9e15-7c0d2b8a4f63"


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(tmp_path: Path, raw: dict, name: str = "council.toml") -> Path:
    lines = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def example(path: Path = EXAMPLE) -> dict:
    return tomllib.loads(path.read_text())


def problems(tmp_path: Path, raw: dict, *, dry_run: bool = True) -> list[str]:
    path = write(tmp_path, raw)
    with pytest.raises(deploy.SettingsError) as caught:
        deploy.load(path, dry_run=dry_run)
    return caught.value.problems


@pytest.mark.parametrize("path", [EXAMPLE, EXAMPLE_ENTRA], ids=["cognito", "entra"])
def test_the_examples_pass_a_dry_runs_checks(path):
    settings, warnings = deploy.load(path, dry_run=True)
    assert settings.council.areas == ["dacorum", "derbyshire"]
    # Only the areas' placeholder sender addresses, which a real deploy refuses.
    assert len(warnings) == 2 and all("placeholder" in w and "contacts.sender_email" in w for w in warnings)


def test_a_real_deploy_refuses_an_areas_placeholder_sender_address():
    with pytest.raises(deploy.SettingsError) as caught:
        deploy.load(EXAMPLE, dry_run=False)
    assert caught.value.problems == [
        "infra/councils/example.toml: council.areas: 'dacorum' sends from communitytrigger@dacorum.example "
        "(policies: contacts.sender_email), which is not on email.sender_domain 'wendle.example'",
        "infra/councils/example.toml: council.areas: 'derbyshire' sends from communitytrigger@derbyshire.example "
        "(policies: contacts.sender_email), which is not on email.sender_domain 'wendle.example'",
    ]


def test_an_area_on_the_sender_domain_or_a_subdomain_of_it_passes(tmp_path):
    raw = example()
    raw["council"]["areas"] = ["hart"]  # communitysafety@hart.gov.uk, a real address
    for domain in ("hart.gov.uk", "gov.uk"):
        raw["email"]["sender_domain"] = domain
        deploy.load(write(tmp_path, raw), dry_run=False)
    raw["email"]["sender_domain"] = "rushmoor.gov.uk"
    assert problems(tmp_path, raw, dry_run=True) == [
        f"{tmp_path / 'council.toml'}: council.areas: 'hart' sends from communitysafety@hart.gov.uk "
        "(policies: contacts.sender_email), which is not on email.sender_domain 'rushmoor.gov.uk'"]


def _set(raw: dict, dotted: str, value) -> dict:
    raw = copy.deepcopy(raw)
    section, key = dotted.split(".")
    if value is None:
        raw[section].pop(key, None)
    else:
        raw.setdefault(section, {})[key] = value
    return raw


COGNITO_CASES = [
    ("site.console_base_url", "http://communitytrigger.wendle.example/api",
     "site.console_base_url: 'http://communitytrigger.wendle.example/api' is not an https address"),
    ("council.name", None, "council.name: required"),
    ("council.areas", None, "council.areas: required"),
    ("council.areas", [], "council.areas: required (the [area] ids of the policies this deployment serves)"),
    ("council.areas", ["dacorum", "dacorum"], "council.areas: lists an area twice"),
    ("council.areas", ["wendle"], "council.areas: 'wendle' has no policy (policies/*.toml [area] id: dacorum, "
                                  "derbyshire, folkestone-hythe, gloucestershire, hart)"),
    ("council.area", ["dacorum"], "council.area: not a setting (misspelt?)"),
    ("stack.name", None, "stack.name: required"),
    ("stack.name", "1wendle", "stack.name: '1wendle' must start with a letter"),
    ("stack.name", "wendle_ct", "stack.name: 'wendle_ct' must start with a letter"),
    ("stack.name", "w" * 57, "stack.name: 57 characters; at most 56"),
    ("stack.region", "London", "stack.region: 'London' is not an AWS region (e.g. eu-west-2)"),
    ("stack.region", "eu-west", "stack.region: 'eu-west' is not an AWS region"),
    ("stack.stage", "prod", "stack.stage: 'prod' is not a stage in .chalice/config.json (there: dev)"),
    ("stack.stage", "local", "stack.stage: 'local' is not a stage in .chalice/config.json"),
    ("stack.stage", "my stage", "stack.stage: 'my stage' may hold only letters, digits and underscores"),
    ("stack.artifact_bucket", "My_Bucket", "stack.artifact_bucket: 'My_Bucket' is not an S3 bucket name"),
    ("email.sender_domain", None, "email.sender_domain: required"),
    ("email.sender_domain", "wendle", "email.sender_domain: 'wendle' is not a domain name"),
    ("email.sender_domain", "Wendle .example", "email.sender_domain: 'Wendle .example' is not a domain name"),
    ("site.domain_name", "https://forms.wendle.example", "site.domain_name: 'https://forms.wendle.example' is not "
                                                         "a domain name"),
    ("site.certificate_arn", "", "site.certificate_arn: required when site.domain_name is set (an ACM certificate "
                                 "for it in us-east-1)"),
    ("site.certificate_arn", "arn:aws:acm:eu-west-2:111122223333:certificate/0b8d2f4e-6c1a-4e3b-9a57-2d4c8e1f6a90",
     "site.certificate_arn: is in eu-west-2; it must be in us-east-1 (CloudFront uses certificates from us-east-1 only)"),
    ("site.certificate_arn", "arn:aws:iam::111122223333:server-certificate/x",
     "site.certificate_arn: 'arn:aws:iam::111122223333:server-certificate/x' is not an ACM certificate ARN"),
    ("site.form_site_url", "communitytrigger.wendle.example", "site.form_site_url: 'communitytrigger.wendle.example' "
                                                              "is not an https origin"),
    ("site.form_origins", ["http://www.wendle.example"], "site.form_origins[0]: 'http://www.wendle.example' is not "
                                                         "an https origin"),
    ("site.form_origins", ["https://www.wendle.example", "https://www.wendle.example/forms/"],
     "site.form_origins[1]: 'https://www.wendle.example/forms/' is not an https origin"),
    ("site.form_origins", "https://www.wendle.example", "site.form_origins: input should be a valid list"),
    ("api.certificate_arn", "arn:aws:acm:us-east-1:111122223333:certificate/5e7a9c3b-1d2f-4a6e-8b0c-9f3e2d1a7b64",
     "api.certificate_arn: is in us-east-1; it must be in eu-west-2 (a regional API uses a certificate from the "
     "stack's own region)"),
    ("api.domain_name", "", "api.domain_name: required when api.certificate_arn is set"),
    ("identity.provider", "okta", "identity.provider: 'okta' is not one of 'cognito' or 'entra'"),
    ("identity.cognito_domain_prefix", "Wendle", "identity.cognito_domain_prefix: 'Wendle' may hold only lowercase "
                                                 "letters, digits and hyphens"),
    ("identity.cognito_domain_prefix", "wendle-", "identity.cognito_domain_prefix: 'wendle-' may hold only"),
    ("identity.cognito_domain_prefix", "wendle-cognito", "identity.cognito_domain_prefix: 'wendle-cognito' may not "
                                                         "contain 'aws', 'amazon' or 'cognito'"),
    ("identity.tenant_id", TENANT, "identity.tenant_id: only for identity.provider = \"entra\""),
    ("monitoring.alarm_email", "ict at wendle", "monitoring.alarm_email: 'ict at wendle' is not an email address"),
    ("monitoring.log_retention_days", 100, "monitoring.log_retention_days: 100 is not a period CloudWatch Logs accepts"),
    ("monitoring.log_retention_days", "a year", "monitoring.log_retention_days: input should be a valid integer"),
    ("monitoring.api_throttle_rate", 0, "monitoring.api_throttle_rate: input should be greater than or equal to 1"),
    ("monitoring.api_throttle_burst", 10, "monitoring.api_throttle_burst: must be at least monitoring.api_throttle_rate"),
    ("secrets.link_secret_rotation_days", 0, "secrets.link_secret_rotation_days: input should be greater than"),
]


@pytest.mark.parametrize("dotted, value, expected", COGNITO_CASES,
                         ids=[f"{d}={v!r}"[:60] for d, v, _ in COGNITO_CASES])
def test_each_wrong_setting_names_itself_and_the_file(tmp_path, dotted, value, expected):
    found = problems(tmp_path, _set(example(), dotted, value))
    label = f"{tmp_path / 'council.toml'}: "
    assert all(p.startswith(label) for p in found), found
    assert [p for p in found if p[len(label):].startswith(expected)], found


ENTRA_CASES = [
    ("identity.tenant_id", None, 'identity.tenant_id: required when identity.provider = "entra"'),
    ("identity.tenant_id", "wendle.onmicrosoft.com", "identity.tenant_id: 'wendle.onmicrosoft.com' is not a GUID"),
    ("identity.client_id", "", 'identity.client_id: required when identity.provider = "entra"'),
    ("identity.audience", "wendle-api", "identity.audience: 'wendle-api' is neither the app's client id nor its "
                                        "Application ID URI"),
    ("identity.client_secret_parameter", "/wendle/secret", "identity.client_secret_parameter: must be "
                                                           "'/community-trigger/wendle-community-trigger/oidc-client-secret'"),
    ("identity.scopes", "profile email", "identity.scopes: must include openid"),
    ("identity.areas_claim", "my areas", "identity.areas_claim: 'my areas' is not a claim name"),
    ("identity.cognito_domain_prefix", "wendle", 'identity.cognito_domain_prefix: only for identity.provider = "cognito"'),
]


@pytest.mark.parametrize("dotted, value, expected", ENTRA_CASES, ids=[f"{d}={v!r}"[:60] for d, v, _ in ENTRA_CASES])
def test_each_wrong_entra_setting_names_itself(tmp_path, dotted, value, expected):
    found = problems(tmp_path, _set(example(EXAMPLE_ENTRA), dotted, value))
    assert [p for p in found if p.split(": ", 1)[1].startswith(expected)], found


def test_every_problem_is_listed_at_once(tmp_path):
    raw = _set(_set(_set(example(), "stack.stage", "prod"), "stack.name", "1x"), "site.form_origins", ["http://a.b"])
    found = problems(tmp_path, raw)
    assert [p.split(": ", 2)[1] for p in found] == ["stack.name", "stack.stage", "site.form_origins[0]"]


def test_a_missing_file_and_bad_toml_are_one_clear_line(tmp_path):
    with pytest.raises(deploy.SettingsError) as caught:
        deploy.load(tmp_path / "absent.toml")
    assert caught.value.problems == [f"{tmp_path / 'absent.toml'}: no such file"]
    (tmp_path / "bad.toml").write_text("[stack\nname = 1\n")
    with pytest.raises(deploy.SettingsError) as caught:
        deploy.load(tmp_path / "bad.toml")
    assert caught.value.problems[0].startswith(f"{tmp_path / 'bad.toml'}: not valid TOML")


def test_the_command_exits_2_and_lists_the_problems(tmp_path):
    path = write(tmp_path, _set(example(), "stack.region", "London"))
    result = subprocess.run([sys.executable, "-m", "infra.deploy", "--settings", str(path), "--dry-run"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"{path}: stack.region: 'London' is not an AWS region (e.g. eu-west-2)" in result.stderr
    assert "nothing was deployed" in result.stderr
    assert "== 2. package" not in result.stdout


def test_cognito_parameters():
    settings, _ = deploy.load(EXAMPLE, dry_run=True)
    params = deploy.parameters(settings)
    assert params["IdentityProvider"] == "cognito" and params["CognitoDomainPrefix"] == "wendle-ct-staff"
    assert params["FormOrigins"] == "https://communitytrigger.wendle.example,https://www.wendle.example"
    assert params["SenderDomain"] == "wendle.example"
    assert params["SiteCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert (params["LogRetentionDays"], params["ApiThrottleRate"], params["ApiThrottleBurst"],
            params["LinkSecretRotationDays"]) == ("365", "25", "50", "90")
    assert "JwtIssuer" not in params  # the stack derives it from its own user pool


def test_entra_parameters_follow_from_the_tenant_and_the_app():
    settings, _ = deploy.load(EXAMPLE_ENTRA, dry_run=True)
    params = deploy.parameters(settings)
    assert params["JwtIssuer"] == params["OidcIssuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert params["JwksUrl"] == f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"
    assert params["JwtAudience"] == params["OidcClientId"] == "a7e41c09-2b5d-4f38-8c6e-1d9f0b3a5e72"
    assert (params["RolesClaim"], params["AreasClaim"]) == ("roles", "roles")
    assert params["OidcClientSecretParameter"] == "/community-trigger/wendle-community-trigger/oidc-client-secret"
    assert "CognitoDomainPrefix" not in params


def test_an_application_id_uri_is_the_audience_when_given(tmp_path):
    raw = _set(example(EXAMPLE_ENTRA), "identity.audience", "api://wendle-community-trigger")
    settings, _ = deploy.load(write(tmp_path, raw), dry_run=True)
    assert deploy.parameters(settings)["JwtAudience"] == "api://wendle-community-trigger"


def test_parameter_problems_name_a_missing_required_an_unknown_and_a_disallowed_value():
    template = {"Parameters": {"Needed": {"Type": "String"}, "Optional": {"Type": "String", "Default": ""},
                               "Choice": {"Type": "String", "Default": "a", "AllowedValues": ["a", "b"]}}}
    assert deploy.parameter_problems({"Needed": "x", "Choice": "b"}, template) == []
    assert deploy.parameter_problems({"Choice": "c", "Extra": "1"}, template) == [
        "parameter Needed: the template requires it and the settings give no value",
        "parameter Extra: the template has no such parameter (its parts and infra/deploy.py disagree)",
        "parameter Choice: 'c' is not one of the template's ['a', 'b']",
    ]


def test_the_parameters_file_is_what_create_change_set_reads():
    assert deploy.parameters_file({"B": "2", "A": "1"}) == [
        {"ParameterKey": "A", "ParameterValue": "1"}, {"ParameterKey": "B", "ParameterValue": "2"}]


@pytest.mark.slow
@pytest.mark.parametrize("path", [EXAMPLE, EXAMPLE_ENTRA], ids=["cognito", "entra"])
def test_the_examples_parameters_match_the_packaged_template(sam, path):
    # Read from the template at test time: a parameter a part adds or renames shows up here.
    settings, _ = deploy.load(path, dry_run=True)
    assert deploy.parameter_problems(deploy.parameters(settings), sam) == []


@pytest.mark.slow
def test_a_dry_run_with_no_aws_credentials_builds_checks_and_prints_the_commands(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_EC2_METADATA_DISABLED="true")
    # What `make deploy DRY_RUN=1` runs (make itself would first refresh the virtualenv).
    result = subprocess.run([sys.executable, "-m", "infra.deploy", "--dry-run"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    for step in range(1, 9):
        assert f"== {step}. " in out
    build = REPO / "build" / "deploy" / "wendle-community-trigger"
    assert (build / "sam.json").exists() and (build / "parameters.json").exists()
    assert (build / "site" / "dacorum" / "index.html").exists()
    for command in ("aws cloudformation package", "aws cloudformation create-change-set",
                    "aws cloudformation execute-change-set", "aws s3 sync", "aws cloudfront create-invalidation"):
        assert f"would run: {command}" in out, command
    assert "--parameters file://" in out and "CAPABILITY_AUTO_EXPAND" in out
    assert "dry run: nothing was changed in AWS" in out


FAKE_AWS = r'''#!{python}
"""A stand-in for the AWS CLI: logs each call and answers as a new stack's first deploy would."""
import json, shutil, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\n")
def arg(name):
    return args[args.index(name) + 1]
command = " ".join(args[:2])
if command == "sts get-caller-identity":
    print("111122223333")
elif command == "s3api head-bucket":
    sys.exit(254)  # no artifact bucket yet
elif command == "cloudformation package":
    shutil.copyfile(arg("--template-file"), arg("--output-template-file"))
elif command == "cloudformation describe-stacks" and arg("--query") == "Stacks[0].StackStatus":
    print("An error occurred (ValidationError): Stack with id x does not exist", file=sys.stderr)
    sys.exit(254)
elif command == "cloudformation describe-change-set":
    print(json.dumps({{"Status": "CREATE_COMPLETE", "Changes": [
        {{"Type": "Resource", "ResourceChange": {{"Action": "Add", "LogicalResourceId": "CasesTable",
                                               "ResourceType": "AWS::DynamoDB::Table"}}}},
        {{"Type": "Resource", "ResourceChange": {{"Action": "Modify", "LogicalResourceId": "APIHandler",
                                               "ResourceType": "AWS::Lambda::Function", "Replacement": "False"}}}}]}}))
elif command == "cloudformation describe-stacks":
    print(json.dumps([
        {{"OutputKey": "ApiUrl", "OutputValue": "https://communitytrigger.wendle.example/api"}},
        {{"OutputKey": "SiteUrl", "OutputValue": "https://communitytrigger.wendle.example/"}},
        {{"OutputKey": "SiteBucketName", "OutputValue": "wendle-site-bucket"}},
        {{"OutputKey": "SiteDistributionId", "OutputValue": "E2EXAMPLE"}},
        {{"OutputKey": "ConsoleUrl", "OutputValue": "https://communitytrigger.wendle.example/api/console/cases"}},
        {{"OutputKey": "UserPoolId", "OutputValue": "eu-west-2_Example"}},
        {{"OutputKey": "SenderDomainDkimRecords", "OutputValue": "a._domainkey.wendle.example CNAME a.dkim.amazonses.com"}}]))
'''


@pytest.mark.slow
def test_a_deploy_runs_the_aws_commands_in_order(tmp_path):
    """The real path, against a stand-in `aws` on PATH (the settings' placeholder addresses replaced)."""
    raw = example()
    raw["council"]["areas"] = ["hart"]
    raw["email"]["sender_domain"] = "hart.gov.uk"
    settings = write(tmp_path, raw)
    log = tmp_path / "aws.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS.format(python=sys.executable, log=str(log)))
    (bin_dir / "aws").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([sys.executable, "-m", "infra.deploy", "--settings", str(settings), "--yes"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(call[-2:] == ["--region", "eu-west-2"] for call in calls)
    assert [" ".join(call[:2]) for call in calls] == [
        "sts get-caller-identity", "s3api head-bucket", "s3api create-bucket", "s3api put-public-access-block",
        "cloudformation package", "s3 cp", "cloudformation describe-stacks", "cloudformation create-change-set",
        "cloudformation wait", "cloudformation describe-change-set", "cloudformation execute-change-set",
        "cloudformation wait", "cloudformation describe-stacks", "s3 sync", "s3 sync", "cloudfront create-invalidation"]
    bucket = "community-trigger-artifacts-111122223333-eu-west-2"
    create = calls[7]
    assert create[create.index("--change-set-type") + 1] == "CREATE"
    assert create[create.index("--template-url") + 1].startswith(f"https://{bucket}.s3.eu-west-2.amazonaws.com/")
    assert calls[11][2] == "stack-create-complete"
    assert calls[13][3] == "s3://wendle-site-bucket/hart/"  # only the area served
    assert "Add      CasesTable" in result.stdout and "AWS::Lambda::Function" in result.stdout
    assert "a._domainkey.wendle.example CNAME a.dkim.amazonses.com" in result.stdout
    assert "eu-west-2_Example" in result.stdout


def test_without_a_terminal_or_yes_nothing_is_executed(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    runner = deploy.Runner(dry_run=False, region="eu-west-2")
    assert deploy.confirm(False, runner) is False
    assert "--yes (make deploy YES=1)" in capsys.readouterr().out
    assert deploy.confirm(True, runner) is True


def test_the_changes_show_each_action_and_whether_a_modify_replaces():
    import io
    out = io.StringIO()
    deploy.show_changes({"Changes": [
        {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "SiteDistribution",
                            "ResourceType": "AWS::CloudFront::Distribution", "Replacement": "True"}},
        {"ResourceChange": {"Action": "Remove", "LogicalResourceId": "OldQueue", "ResourceType": "AWS::SQS::Queue"}}]},
        deploy.Runner(dry_run=False, region="eu-west-2", out=out))
    lines = out.getvalue().splitlines()
    assert lines[1].split() == ["Modify", "SiteDistribution", "AWS::CloudFront::Distribution", "True"]
    assert lines[2].split() == ["Remove", "OldQueue", "AWS::SQS::Queue", "-"]


def test_cognito_without_a_domain_warns_that_staff_sign_in_comes_with_the_second_deploy(tmp_path):
    raw = _set(_set(_set(example(), "site.domain_name", ""), "site.certificate_arn", ""), "api.domain_name", "")
    raw = _set(raw, "api.certificate_arn", "")
    settings, warnings = deploy.load(write(tmp_path, raw), dry_run=True)
    [warning] = [w for w in warnings if "console_base_url" in w]
    assert "set it to <SiteUrl>/api and deploy again" in warning
    raw = _set(raw, "site.console_base_url", "https://d111111abcdef8.cloudfront.net/api/")
    settings, warnings = deploy.load(write(tmp_path, raw), dry_run=True)
    assert not [w for w in warnings if "console_base_url" in w]
    assert deploy.parameters(settings)["ConsoleBaseUrl"] == "https://d111111abcdef8.cloudfront.net/api"

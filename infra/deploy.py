"""Deploy the stack for one council from its settings file (infra/councils/<council>.toml).

    python -m infra.deploy --settings infra/councils/example.toml [--dry-run] [--yes]
    make deploy SETTINGS=infra/councils/example.toml [DRY_RUN=1] [YES=1]

Steps, each printed before it runs: 1 check the settings; 2 package (infra/package.sh);
3 cfn-lint the template; 4 write the stack's parameters and check them against the template;
5 upload the code (aws cloudformation package); 6 make a change set, show it, ask, execute and
wait; 7 build the static form from the stack's outputs and upload it; 8 print the URLs and what
is left to do by hand. With --dry-run, steps 1-4 run for real and every AWS command is only
printed: it needs no AWS credentials and no network.

Exit codes: 0 done, 2 the settings (or the parameters) are wrong, 1 a command failed or the
change was not confirmed.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS = REPO / "infra" / "councils" / "example.toml"

# The outputs the stack publishes (the site, identity, monitoring and secrets parts write them).
OUTPUTS = ("ApiUrl", "SiteUrl", "SiteBucketName", "SiteDistributionId", "ConsoleUrl", "UserPoolId",
           "UserPoolClientId", "AlarmTopicArn", "SenderDomainDkimRecords", "PartnerLinkSecretArn")
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
# The SES configuration set is "<stack>-letters" (infra/build_template.py) and SES allows 64 characters.
STACK_NAME_MAX = 64 - len("-letters")
ENTRA_LOGIN = "https://login.microsoftonline.com"
ACCOUNT_PLACEHOLDER = "<account-id>"

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
STAGE = re.compile(r"^[A-Za-z0-9_]+$")
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ACM_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?P<domain>[^@\s]+)$")
BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
COGNITO_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class _Section(BaseModel):
    # An unknown key is most often a misspelt one: refuse it rather than ignore the value.
    model_config = ConfigDict(extra="forbid")


class Council(_Section):
    name: str
    # The [area] ids of the policies this deployment serves.
    areas: list[str]


class Stack(_Section):
    name: str
    region: str
    stage: str = "dev"
    artifact_bucket: str = ""


class Email(_Section):
    sender_domain: str


class Site(_Section):
    domain_name: str = ""
    certificate_arn: str = ""
    # Empty: the form site's own origin and the API's (the stack's default).
    form_origins: list[str] = []
    # Without a domain_name the form's address is known only after the first deploy (the SiteUrl
    # output): give it here and deploy again. Empty: https://<domain_name>/.
    form_site_url: str = ""
    # Only without a domain_name (site or api): the console's address, <SiteUrl>/api after the first
    # deploy. With Cognito the console's sign-in client is made only once the console has an address
    # the stack can name. Empty: https://<domain_name>/api.
    console_base_url: str = ""


class Api(_Section):
    domain_name: str = ""
    certificate_arn: str = ""


class Identity(_Section):
    provider: Literal["cognito", "entra"] = "cognito"
    cognito_domain_prefix: str = ""
    # entra only
    tenant_id: str = ""
    client_id: str = ""
    # The access tokens' aud: the API app's client id (v2 tokens) or its Application ID URI (api://...).
    audience: str = ""
    # "roles": app roles per area, whose values are the area ids (see the README); or the name of
    # an optional claim holding the ids, e.g. "extn.areas" from a directory extension attribute.
    areas_claim: str = "roles"
    # A confidential client's secret is an SSM SecureString of this name; empty: a public client.
    client_secret_parameter: str = ""
    scopes: str = "openid profile email"


class Monitoring(_Section):
    alarm_email: str = ""
    log_retention_days: int = 365
    api_throttle_rate: int = Field(25, ge=1)
    api_throttle_burst: int = Field(50, ge=1)


class Secrets(_Section):
    link_secret_rotation_days: int = Field(90, ge=1, le=365)


class Settings(_Section):
    council: Council
    stack: Stack
    email: Email
    site: Site
    api: Api = Api()
    identity: Identity = Identity()
    monitoring: Monitoring = Monitoring()
    secrets: Secrets = Secrets()

    @property
    def cognito_prefix(self) -> str:
        return self.identity.cognito_domain_prefix or self.stack.name.lower()


class SettingsError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# -- step 1: the settings ------------------------------------------------------------------------


def _domain_problem(name: str) -> str | None:
    if len(name) > 253 or "." not in name:
        return f"{name!r} is not a domain name (lowercase labels separated by dots, e.g. forms.council.gov.uk)"
    labels = name.split(".")
    if not all(LABEL.match(label) for label in labels) or not labels[-1].isalpha():
        return f"{name!r} is not a domain name (lowercase labels separated by dots, e.g. forms.council.gov.uk)"
    return None


def _origin_problem(origin: str) -> str | None:
    match = re.match(r"^https://(?P<host>[^/:]+)(?::(?P<port>\d{1,5}))?$", origin)
    if not match:
        return f"{origin!r} is not an https origin (https://host, with no path or trailing slash)"
    host = match["host"]
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        problem = _domain_problem(host)
        return f"{origin!r}: {problem}" if problem else None


def _email_domain(address: str) -> str | None:
    match = EMAIL.match(address)
    if not match or _domain_problem(match["domain"].lower()):
        return None
    return match["domain"].lower()


def _on_domain(domain: str, sender_domain: str) -> bool:
    # An SES domain identity also lets its subdomains send (unless they are verified separately).
    return domain == sender_domain or domain.endswith("." + sender_domain)


def _chalice_stages() -> list[str]:
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    return [name for name in config.get("stages", {}) if name != "local"]


def _served_policies(area_ids: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The policies of the named areas, and a problem for each id that has none."""
    sys.path.insert(0, str(REPO))
    from chalicelib import wiring  # noqa: PLC0415 - only when checking, it loads every policy

    policies = wiring.policies()
    found = {area: policies[area] for area in area_ids if area in policies}
    missing = [f"council.areas: {area!r} has no policy (policies/*.toml [area] id: {', '.join(sorted(policies))})"
               for area in area_ids if area not in policies]
    return found, missing


def check(settings: Settings, *, dry_run: bool = False) -> tuple[list[str], list[str]]:
    """Every problem with the settings (setting: what is wrong), and warnings that stop only a real deploy."""
    problems: list[str] = []
    warnings: list[str] = []
    say = problems.append
    stack, site, api, identity = settings.stack, settings.site, settings.api, settings.identity

    if not settings.council.name.strip():
        say("council.name: required")
    if not REGION.match(stack.region):
        say(f"stack.region: {stack.region!r} is not an AWS region (e.g. eu-west-2)")
    if not STACK_NAME.match(stack.name):
        say(f"stack.name: {stack.name!r} must start with a letter and hold only letters, digits and hyphens "
            "(a CloudFormation stack name)")
    elif len(stack.name) > STACK_NAME_MAX:
        say(f"stack.name: {len(stack.name)} characters; at most {STACK_NAME_MAX} (CloudFormation allows 128, but "
            f"the SES configuration set '<name>-letters' may have only 64)")
    stages = _chalice_stages()
    if not STAGE.match(stack.stage):
        say(f"stack.stage: {stack.stage!r} may hold only letters, digits and underscores")
    elif stack.stage not in stages:
        say(f"stack.stage: {stack.stage!r} is not a stage in .chalice/config.json (there: {', '.join(stages)})")
    if stack.artifact_bucket and not BUCKET.match(stack.artifact_bucket):
        say(f"stack.artifact_bucket: {stack.artifact_bucket!r} is not an S3 bucket name "
            "(3-63 lowercase letters, digits, dots and hyphens)")

    sender_domain = settings.email.sender_domain.lower()
    if problem := _domain_problem(settings.email.sender_domain):
        say(f"email.sender_domain: {problem}")
    if not settings.council.areas:
        say("council.areas: required (the [area] ids of the policies this deployment serves)")
    if len(set(settings.council.areas)) != len(settings.council.areas):
        say("council.areas: lists an area twice")
    policies, missing = _served_policies(settings.council.areas)
    problems += missing
    for area_id, policy in policies.items():
        address = str(policy.contacts.sender_email)
        domain = _email_domain(address) or ""
        if _on_domain(domain, sender_domain):
            continue
        message = (f"council.areas: {area_id!r} sends from {address} (policies: contacts.sender_email), which is not on "
                   f"email.sender_domain {sender_domain!r}")
        # A placeholder (on <area>.example) must be replaced by the area's real address before going
        # live; a dry run still checks everything else.
        if dry_run and policy.is_example("contacts.sender_email"):
            warnings.append(f"{message}; it is a placeholder: give the area's real address before deploying")
        else:
            say(message)

    for section, where, region in (("site", site, "us-east-1"), ("api", api, stack.region)):
        if where.domain_name and (problem := _domain_problem(where.domain_name)):
            say(f"{section}.domain_name: {problem}")
        if where.domain_name and not where.certificate_arn:
            say(f"{section}.certificate_arn: required when {section}.domain_name is set "
                f"(an ACM certificate for it in {region})")
        if where.certificate_arn and not where.domain_name:
            say(f"{section}.domain_name: required when {section}.certificate_arn is set")
        if where.certificate_arn:
            match = ACM_ARN.match(where.certificate_arn)
            if not match:
                say(f"{section}.certificate_arn: {where.certificate_arn!r} is not an ACM certificate ARN "
                    "(arn:aws:acm:<region>:<account>:certificate/<id>)")
            elif match["region"] != region:
                why = "CloudFront uses certificates from us-east-1 only" if section == "site" else \
                    "a regional API uses a certificate from the stack's own region"
                say(f"{section}.certificate_arn: is in {match['region']}; it must be in {region} ({why})")
    if site.form_site_url and (problem := _origin_problem(site.form_site_url.rstrip("/"))):
        say(f"site.form_site_url: {problem}")
    for i, origin in enumerate(site.form_origins):
        if problem := _origin_problem(origin):
            say(f"site.form_origins[{i}]: {problem}")

    if identity.provider == "cognito":
        prefix = settings.cognito_prefix
        field = "identity.cognito_domain_prefix" if identity.cognito_domain_prefix else "identity.cognito_domain_prefix " \
            "(empty: the stack name)"
        if not COGNITO_PREFIX.match(prefix):
            say(f"{field}: {prefix!r} may hold only lowercase letters, digits and hyphens, at most 63, "
                "not starting or ending with a hyphen")
        elif any(word in prefix for word in ("aws", "amazon", "cognito")):
            say(f"{field}: {prefix!r} may not contain 'aws', 'amazon' or 'cognito' (Cognito's rule)")
        for key in ("tenant_id", "client_id", "audience", "client_secret_parameter"):
            if getattr(identity, key):
                say(f"identity.{key}: only for identity.provider = \"entra\" (the Cognito pool is the stack's own)")
    else:
        if identity.cognito_domain_prefix:
            say("identity.cognito_domain_prefix: only for identity.provider = \"cognito\"")
        for key in ("tenant_id", "client_id"):
            value = getattr(identity, key)
            if not value:
                say(f"identity.{key}: required when identity.provider = \"entra\" (a GUID from the app registration)")
            elif not GUID.match(value.lower()):
                say(f"identity.{key}: {value!r} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        if identity.audience and not (GUID.match(identity.audience.lower()) or identity.audience.startswith("api://")
                                      or identity.audience.startswith("https://")):
            say(f"identity.audience: {identity.audience!r} is neither the app's client id nor its Application ID "
                "URI (api://...)")
        if not re.match(r"^[A-Za-z0-9_.:-]+$", identity.areas_claim):
            say(f"identity.areas_claim: {identity.areas_claim!r} is not a claim name (e.g. roles or extn.areas)")
        secret = identity.client_secret_parameter
        expected = f"/community-trigger/{stack.name}/oidc-client-secret"
        if secret and secret != expected:
            say(f"identity.client_secret_parameter: must be {expected!r} (the only name the role may read) or empty")
        if "openid" not in identity.scopes.split():
            say("identity.scopes: must include openid")

    if settings.site.console_base_url and not re.match(r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~/-]*)?$",
                                                       settings.site.console_base_url):
        say(f"site.console_base_url: {settings.site.console_base_url!r} is not an https address")
    if (identity.provider == "cognito" and not settings.site.domain_name and not settings.api.domain_name
            and not settings.site.console_base_url):
        # infra/stack/identity.py CognitoConsole: the app client must name the console's address, and
        # execute-api's cannot be named (a circular dependency).
        warnings.append("site.console_base_url: without a site or api domain_name the console's sign-in is set up "
                        "only on the next deploy: after this one, set it to <SiteUrl>/api and deploy again")

    monitoring = settings.monitoring
    if monitoring.alarm_email and not _email_domain(monitoring.alarm_email):
        say(f"monitoring.alarm_email: {monitoring.alarm_email!r} is not an email address")
    if monitoring.log_retention_days not in LOG_RETENTION_DAYS:
        say(f"monitoring.log_retention_days: {monitoring.log_retention_days} is not a period CloudWatch Logs accepts "
            f"({', '.join(map(str, LOG_RETENTION_DAYS))})")
    if monitoring.api_throttle_burst < monitoring.api_throttle_rate:
        say("monitoring.api_throttle_burst: must be at least monitoring.api_throttle_rate")
    return problems, warnings


def load(path: Path, *, dry_run: bool = False) -> tuple[Settings, list[str]]:
    """The settings and their warnings; SettingsError lists every problem, each naming the file."""
    label = _label(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError([f"{label}: no such file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{label}: not valid TOML: {exc}"]) from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError([f"{label}: {_loc(e['loc'])}: {_pydantic_message(e)}" for e in exc.errors()]) from None
    problems, warnings = check(settings, dry_run=dry_run)
    if problems:
        raise SettingsError([f"{label}: {p}" for p in problems])
    return settings, [f"{label}: {w}" for w in warnings]


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _loc(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _pydantic_message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "not a setting (misspelt?)"
    if kind == "literal_error":
        return f"{error['input']!r} is not one of {error['ctx']['expected']}"
    return error["msg"][0].lower() + error["msg"][1:]


# -- step 4: the stack's parameters --------------------------------------------------------------


def parameters(settings: Settings) -> dict[str, str]:
    """The template parameters these settings give (names agreed with the stack's parts)."""
    stack, site, api, identity, monitoring = (settings.stack, settings.site, settings.api, settings.identity,
                                              settings.monitoring)
    params = {
        "IdentityProvider": identity.provider,
        "LinkSecretRotationDays": str(settings.secrets.link_secret_rotation_days),
        "SiteDomainName": site.domain_name,
        "SiteCertificateArn": site.certificate_arn,
        "ApiDomainName": api.domain_name,
        "ApiCertificateArn": api.certificate_arn,
        "SenderDomain": settings.email.sender_domain.lower(),
        "FormOrigins": ",".join(site.form_origins),
        "FormSiteUrl": site.form_site_url,
        "ConsoleBaseUrl": site.console_base_url.rstrip("/"),
        "AlarmEmail": monitoring.alarm_email,
        "LogRetentionDays": str(monitoring.log_retention_days),
        "ApiThrottleRate": str(monitoring.api_throttle_rate),
        "ApiThrottleBurst": str(monitoring.api_throttle_burst),
    }
    if identity.provider == "cognito":
        params["CognitoDomainPrefix"] = settings.cognito_prefix
    else:
        issuer = f"{ENTRA_LOGIN}/{identity.tenant_id.lower()}/v2.0"
        params.update({
            "JwtIssuer": issuer,
            "JwtAudience": identity.audience or identity.client_id.lower(),
            "JwksUrl": f"{ENTRA_LOGIN}/{identity.tenant_id.lower()}/discovery/v2.0/keys",
            "RolesClaim": "roles",
            "AreasClaim": identity.areas_claim,
            # The console signs in with the same app registration (its id_tokens' aud is the client id).
            "OidcIssuer": issuer,
            "OidcClientId": identity.client_id.lower(),
            "OidcClientSecretParameter": identity.client_secret_parameter,
            "OidcScopes": identity.scopes,
        })
    return params


def parameter_problems(params: dict[str, str], template: dict[str, Any]) -> list[str]:
    """What the template would refuse: a parameter it lacks a value for, or one it does not have."""
    declared = template.get("Parameters", {})
    problems = [f"parameter {name}: the template requires it and the settings give no value"
                for name, spec in sorted(declared.items()) if "Default" not in spec and name not in params]
    problems += [f"parameter {name}: the template has no such parameter (its parts and infra/deploy.py disagree)"
                 for name in sorted(params) if name not in declared]
    for name, value in sorted(params.items()):
        spec = declared.get(name, {})
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            problems.append(f"parameter {name}: {value!r} is not one of the template's {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"parameter {name}: {value!r} does not match the template's {spec['AllowedPattern']}")
    return problems


def parameters_file(params: dict[str, str]) -> list[dict[str, str]]:
    # The shape `aws cloudformation create-change-set --parameters file://...` reads.
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items())]


# -- running commands ----------------------------------------------------------------------------


class Runner:
    """Prints each command before running it; in a dry run AWS commands are only printed."""

    def __init__(self, *, dry_run: bool, region: str, out=None):
        self.dry_run, self.region, self.out = dry_run, region, out

    def say(self, text: str = "") -> None:
        print(text, file=self.out or sys.stdout, flush=True)

    def local(self, cmd: list[str], **env: str) -> None:
        self.say("$ " + " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.join(cmd)]))
        subprocess.run(cmd, cwd=REPO, check=True, env={**os.environ, **env})

    def aws(self, *args: str, capture: bool = False, check: bool = True) -> str | None:
        cmd = ["aws", *args, "--region", self.region]
        self.say(("would run: " if self.dry_run else "$ ") + shlex.join(cmd))
        if self.dry_run:
            return None
        result = subprocess.run(cmd, cwd=REPO, check=False, text=True,
                                stdout=subprocess.PIPE if capture else None,
                                stderr=subprocess.PIPE if capture else None)
        if check and result.returncode != 0:
            if capture:
                sys.stderr.write(result.stderr or "")
            raise subprocess.CalledProcessError(result.returncode, cmd)
        return result.stdout if capture and result.returncode == 0 else None


def _cfn_lint() -> list[str]:
    beside = Path(sys.executable).parent / "cfn-lint"
    return [str(beside)] if beside.exists() else [shutil.which("cfn-lint") or "cfn-lint"]


def artifact_bucket(settings: Settings, run: Runner) -> str:
    if settings.stack.artifact_bucket:
        return settings.stack.artifact_bucket
    account = run.aws("sts", "get-caller-identity", "--query", "Account", "--output", "text", capture=True)
    account = (account or "").strip() or ACCOUNT_PLACEHOLDER
    bucket = f"community-trigger-artifacts-{account}-{settings.stack.region}"
    exists = run.aws("s3api", "head-bucket", "--bucket", bucket, capture=True, check=False)
    if exists is None:
        if not run.dry_run:
            run.say(f"  (no bucket {bucket}: creating it once, private)")
        else:
            run.say(f"  (if the bucket {bucket} does not exist yet:)")
        create = ["s3api", "create-bucket", "--bucket", bucket]
        if settings.stack.region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
            create += ["--create-bucket-configuration", f"LocationConstraint={settings.stack.region}"]
        run.aws(*create)
        run.aws("s3api", "put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
                "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true")
    return bucket


def show_changes(description: dict[str, Any], run: Runner) -> None:
    changes = description.get("Changes", [])
    if not changes:
        run.say("  no changes")
        return
    run.say(f"  {'action':8} {'logical id':40} {'type':40} replacement")
    for change in changes:
        rc = change.get("ResourceChange", {})
        run.say(f"  {rc.get('Action', ''):8} {rc.get('LogicalResourceId', ''):40} {rc.get('ResourceType', ''):40} "
                f"{rc.get('Replacement', '-') if rc.get('Action') == 'Modify' else '-'}")


def confirm(yes: bool, run: Runner) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        run.say("not confirmed: run with --yes (make deploy YES=1) to deploy without a terminal")
        return False
    return input("Deploy these changes? Type yes: ").strip().lower() == "yes"


def _outputs(settings: Settings, run: Runner) -> dict[str, str]:
    text = run.aws("cloudformation", "describe-stacks", "--stack-name", settings.stack.name,
                   "--query", "Stacks[0].Outputs", "--output", "json", capture=True)
    if text is None:  # a dry run: what the outputs would be, where the settings say
        # Where infra/stack/site.py puts them: the API under the site's /api when there is a site domain.
        site = f"https://{settings.site.domain_name}" if settings.site.domain_name else "https://<distribution>.cloudfront.net"
        api = f"{site}/api" if settings.site.domain_name else f"https://{settings.api.domain_name}" \
            if settings.api.domain_name else f"https://<api-id>.execute-api.{settings.stack.region}.amazonaws.com/api"
        return {"ApiUrl": api, "SiteUrl": site, "SiteBucketName": "<SiteBucketName>",
                "SiteDistributionId": "<SiteDistributionId>", "ConsoleUrl": f"{api}/console/cases",
                "SenderDomainDkimRecords": "<SenderDomainDkimRecords>"}
    return {o["OutputKey"]: o["OutputValue"] for o in json.loads(text or "[]")}


# -- the steps -----------------------------------------------------------------------------------


def deploy(settings_path: Path, *, dry_run: bool, yes: bool, out=None) -> int:
    def step(n: int, title: str) -> None:
        print(f"\n== {n}. {title}", file=out or sys.stdout, flush=True)

    step(1, f"check the settings ({_label(settings_path)})")
    try:
        settings, warnings = load(settings_path, dry_run=dry_run)
    except SettingsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s): nothing was deployed", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=out or sys.stdout)
    run = Runner(dry_run=dry_run, region=settings.stack.region, out=out)
    name = settings.stack.name
    build = REPO / "build" / "deploy" / name
    run.say(f"{settings.council.name}: stack {name} in {settings.stack.region}, areas {', '.join(settings.council.areas)}, "
            f"identity {settings.identity.provider}" + (" (dry run: AWS commands are only printed)" if dry_run else ""))

    step(2, "package")
    # Only the served areas' policies go into the package: the functions serve no other council's areas.
    run.local(["bash", "infra/package.sh", str(build)], STAGE=settings.stack.stage, AREAS=" ".join(settings.council.areas))
    sam = build / "sam.json"

    step(3, "cfn-lint the template")
    run.local([*_cfn_lint(), str(sam)])

    step(4, "write the stack's parameters")
    params = parameters(settings)
    problems = parameter_problems(params, json.loads(sam.read_text()))
    if problems:
        for problem in problems:
            print(f"{_label(settings_path)}: {problem}", file=sys.stderr)
        return 2
    params_path = build / "parameters.json"
    params_path.write_text(json.dumps(parameters_file(params), indent=2) + "\n")
    run.say(f"wrote {_label(params_path)} ({len(params)} parameters)")

    step(5, "upload the code and the template")
    bucket = artifact_bucket(settings, run)
    packaged = build / "packaged.json"
    run.aws("cloudformation", "package", "--template-file", str(sam), "--s3-bucket", bucket, "--s3-prefix", name,
            "--use-json", "--output-template-file", str(packaged))
    # The template is over create-change-set's 51,200-byte inline limit: it is read from S3.
    key = f"{name}/template-{time.strftime('%Y%m%dT%H%M%S')}.json"
    run.aws("s3", "cp", str(packaged), f"s3://{bucket}/{key}")
    template_url = f"https://{bucket}.s3.{settings.stack.region}.amazonaws.com/{key}"

    step(6, "make a change set, show it, confirm and execute")
    exists = run.aws("cloudformation", "describe-stacks", "--stack-name", name, "--query", "Stacks[0].StackStatus",
                     "--output", "text", capture=True, check=False)
    kind = "UPDATE" if exists and exists.strip() != "REVIEW_IN_PROGRESS" else "CREATE"
    change_set = f"deploy-{time.strftime('%Y%m%d-%H%M%S')}"
    run.aws("cloudformation", "create-change-set", "--stack-name", name, "--change-set-name", change_set,
            "--change-set-type", kind, "--template-url", template_url, "--parameters", f"file://{params_path}",
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
            # JSON, not the shorthand: a council's name may hold commas.
            "--tags", json.dumps([{"Key": "council", "Value": settings.council.name},
                                  {"Key": "application", "Value": "community-trigger"}]))
    waited = run.aws("cloudformation", "wait", "change-set-create-complete", "--stack-name", name,
                     "--change-set-name", change_set, capture=True, check=False)
    description = run.aws("cloudformation", "describe-change-set", "--stack-name", name, "--change-set-name",
                          change_set, "--output", "json", capture=True)
    if not dry_run:
        described = json.loads(description or "{}")
        show_changes(described, run)
        if waited is None and described.get("Status") == "FAILED":
            reason = described.get("StatusReason", "")
            run.say(f"  the change set failed: {reason}")
            run.aws("cloudformation", "delete-change-set", "--stack-name", name, "--change-set-name", change_set)
            if "didn't contain changes" not in reason and "No updates" not in reason:
                return 1
        elif not confirm(yes, run):
            return 1
        else:
            run.aws("cloudformation", "execute-change-set", "--stack-name", name, "--change-set-name", change_set)
            run.aws("cloudformation", "wait", f"stack-{kind.lower()}-complete", "--stack-name", name)
    else:
        run.say("  (then the changes are shown, Add/Modify/Remove with replacement, and you are asked to confirm)")
        run.aws("cloudformation", "execute-change-set", "--stack-name", name, "--change-set-name", change_set)
        run.aws("cloudformation", "wait", f"stack-{kind.lower()}-complete", "--stack-name", name)

    step(7, "build and upload the applicants' form")
    outputs = _outputs(settings, run)
    absent = [key for key in ("ApiUrl", "SiteUrl", "SiteBucketName", "SiteDistributionId") if key not in outputs]
    if absent:
        print(f"the stack has no output {', '.join(absent)}: is infra/stack's site part in the template?",
              file=sys.stderr)
        return 1
    site = build / "site"
    shutil.rmtree(site, ignore_errors=True)
    run.local([sys.executable, "-m", "form.build", "--api-url", outputs["ApiUrl"], "--site-url", outputs["SiteUrl"],
               "--out", str(site)])
    for area in settings.council.areas:  # only the areas this deployment serves
        target = f"s3://{outputs['SiteBucketName']}/{area}/"
        # The pages change with each deployment and are small: browsers check them every time; the
        # assets (not fingerprinted) are kept for an hour.
        run.aws("s3", "sync", str(site / area), target, "--delete", "--exclude", "*.html",
                "--cache-control", "public, max-age=3600")
        run.aws("s3", "sync", str(site / area), target, "--delete", "--exclude", "*", "--include", "*.html",
                "--cache-control", "no-cache", "--content-type", "text/html; charset=utf-8")
    run.aws("cloudfront", "create-invalidation", "--distribution-id", outputs["SiteDistributionId"],
            "--paths", "/*")

    step(8, "done: addresses and what is left to do by hand")
    for key in ("SiteUrl", "ConsoleUrl", "ApiUrl"):
        run.say(f"  {key}: {outputs.get(key, '-')}")
    for area in settings.council.areas:
        run.say(f"  form for {area}: {outputs['SiteUrl'].rstrip('/')}/{area}/")
    run.say("Follow-ups (README, Deployment):")
    run.say(f"  - DNS: the three DKIM CNAME records for {params['SenderDomain']}:")
    for line in outputs.get("SenderDomainDkimRecords", "-").splitlines():
        run.say(f"      {line}")
    if outputs.get("SenderDomainMailFromRecords"):
        run.say("  - DNS: the MAIL FROM domain's records:")
        for line in outputs["SenderDomainMailFromRecords"].splitlines():
            run.say(f"      {line}")
    run.say(f"  - DNS: SPF and DMARC TXT records for {params['SenderDomain']} (README)")
    if settings.site.domain_name:
        run.say(f"  - DNS: {settings.site.domain_name} CNAME {outputs.get('SiteDistributionDomainName', '<SiteDistributionDomainName>')}")
    elif not settings.site.form_site_url:
        run.say(f"  - set site.form_site_url = \"{outputs['SiteUrl']}\" in {_label(settings_path)} and deploy again "
                "(with no site domain the form's address is known only now)")
    if settings.api.domain_name:
        run.say(f"  - DNS: {settings.api.domain_name} CNAME {outputs.get('ApiDomainTarget', '<ApiDomainTarget>')}")
    run.say("  - SES: request production access (out of the sandbox) for this account and region, once")
    if settings.identity.provider == "cognito":
        run.say(f"  - the first admin: aws cognito-idp admin-create-user --user-pool-id "
                f"{outputs.get('UserPoolId', '<UserPoolId>')} --username <email> --region {settings.stack.region}; "
                "then admin-add-user-to-group --group-name admin")
    else:
        run.say("  - Entra ID: assign staff to the app roles (spoc/appeals/admin and each area's id)")
    if settings.monitoring.alarm_email:
        run.say(f"  - confirm the alarm subscription AWS emailed to {settings.monitoring.alarm_email}")
    if dry_run:
        run.say("\ndry run: nothing was changed in AWS")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, default=DEFAULT_SETTINGS)
    parser.add_argument("--dry-run", action="store_true", help="check and build everything; only print AWS commands")
    parser.add_argument("--yes", action="store_true", help="execute the change set without asking")
    parser.add_argument("--check-only", action="store_true", help="only step 1: check the settings file")
    args = parser.parse_args(argv)
    if args.check_only:
        try:
            _, warnings = load(args.settings, dry_run=args.dry_run)
        except SettingsError as exc:
            print("\n".join(exc.problems), file=sys.stderr)
            return 2
        for warning in warnings:
            print(f"warning: {warning}")
        print(f"{_label(args.settings)}: ok")
        return 0
    try:
        return deploy(args.settings, dry_run=args.dry_run, yes=args.yes)
    except subprocess.CalledProcessError as exc:
        print(f"failed ({exc.returncode}): {shlex.join(exc.cmd)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

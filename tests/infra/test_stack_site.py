"""The council's site in the packaged template (infra/stack/site.py, email.py): the form's private
bucket behind CloudFront, /api/* through to the API, the custom domains, the functions' addresses
in each set-up, and the SES sender domain. Intrinsic functions are evaluated here for given
parameter values, as CloudFormation would."""
from __future__ import annotations

import json
import re
import subprocess
from fnmatch import fnmatchcase
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from infra.build_template import FUNCTIONS
from infra.stack import site

pytestmark = pytest.mark.slow

REGION, ACCOUNT, REST_API = "eu-west-2", "123456789012", "abc123"
EXECUTE_API = f"https://{REST_API}.execute-api.{REGION}.amazonaws.com/api"
SITE, API_DOMAIN = "ct.example.gov.uk", "api.ct.example.gov.uk"
SITE_CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/site"
API_CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/api"
# Attributes of resources, as CloudFormation would give them after creating them.
ATTRIBUTES = {
    "SiteDistribution": {"": "E2DIST", "DomainName": "d111.cloudfront.net"},
    "SiteBucket": {"": "ct-sitebucket", "Arn": "arn:aws:s3:::ct-sitebucket",
                   "RegionalDomainName": f"ct-sitebucket.s3.{REGION}.amazonaws.com"},
    "RestAPI": {"": REST_API},
    "ApiDomain": {"": API_DOMAIN, "RegionalDomainName": f"d-xyz.execute-api.{REGION}.amazonaws.com"},
    "APIHandler": {"": "ct-APIHandler", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ct-APIHandler"},
    "SesConfigurationSet": {"": "ct-letters"},
    "SenderIdentity": {**{f"DkimDNSTokenName{n}": f"k{n}._domainkey.example.gov.uk" for n in (1, 2, 3)},
                       **{f"DkimDNSTokenValue{n}": f"k{n}.dkim.amazonses.com" for n in (1, 2, 3)}},
}


class Stack:
    """A template's intrinsic functions evaluated for one set of parameter values."""

    def __init__(self, template: dict[str, Any], **given: str):
        self.template = template
        self.params = {name: p.get("Default") for name, p in template["Parameters"].items()}
        self.params.update(given)
        self.params.update({"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": "ct",
                            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None})

    def condition(self, name: str) -> bool:
        return self(self.template["Conditions"][name])

    def ref(self, name: str, attribute: str = "") -> Any:
        if name in self.params:
            return self.params[name]
        assert name in self.template["Resources"], f"no parameter or resource {name}"
        return ATTRIBUTES.get(name, {}).get(attribute, f"<{name}{'.' if attribute else ''}{attribute}>")

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(n) for n in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref", "Condition")):
            return {k: self(v) for k, v in node.items()}
        (fn, arg), = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::GetAtt":
            return self.ref(*arg)
        if fn == "Fn::If":
            return self(arg[1] if self.condition(arg[0]) else arg[2])
        if fn == "Fn::Equals":
            return self(arg[0]) == self(arg[1])
        if fn == "Fn::Not":
            return not self(arg[0])
        if fn == "Fn::And":
            return all(self(a) for a in arg)
        if fn == "Fn::Join":
            return arg[0].join(self(arg[1]))
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}.]+)(?:\.([^}]+))?\}", lambda m: str(self.ref(m[1], m[2] or "")), arg)
        raise AssertionError(f"not evaluated here: {fn}")


NO_DOMAIN: dict[str, str] = {}
SITE_DOMAIN = {"SiteDomainName": SITE, "SiteCertificateArn": SITE_CERT}
API_ONLY = {"ApiDomainName": API_DOMAIN, "ApiCertificateArn": API_CERT}
BOTH = {**SITE_DOMAIN, **API_ONLY}


def resource(sam, name: str) -> dict[str, Any]:
    return sam["Resources"][name]


def distribution(sam) -> dict[str, Any]:
    return resource(sam, "SiteDistribution")["Properties"]["DistributionConfig"]


def behaviour(sam, path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks for a path (the first pattern that matches)."""
    config = distribution(sam)
    for candidate in config["CacheBehaviors"]:
        if fnmatchcase(path, candidate["PathPattern"]):
            return candidate
    return config["DefaultCacheBehavior"]


def origin(sam, behaviour_: dict[str, Any]) -> dict[str, Any]:
    (found,) = [o for o in distribution(sam)["Origins"] if o["Id"] == behaviour_["TargetOriginId"]]
    return found


def env(sam, name: str, **given: str) -> str:
    return Stack(sam, **given)(resource(sam, "APIHandler")["Properties"]["Environment"]["Variables"][name])


# ---------------------------------------------------------------- the bucket


def test_the_form_bucket_is_private_encrypted_versioned_and_owner_enforced(sam):
    props = resource(sam, "SiteBucket")["Properties"]
    assert all(props["PublicAccessBlockConfiguration"][k] for k in
               ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}


def test_only_this_distribution_may_read_the_bucket_and_only_over_tls(sam):
    stack = Stack(sam)
    policy = stack(resource(sam, "SiteBucketPolicy")["Properties"])
    assert policy["Bucket"] == "ct-sitebucket"
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [{
        "Sid": "OnlyThisDistributionReads", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ct-sitebucket/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2DIST"}}}]
    (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == ["arn:aws:s3:::ct-sitebucket", "arn:aws:s3:::ct-sitebucket/*"]


def test_cloudfront_reads_the_bucket_through_origin_access_control_signing_with_sigv4(sam):
    config = resource(sam, "SiteOriginAccessControl")["Properties"]["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"], config["SigningProtocol"]) == \
        ("s3", "always", "sigv4")
    form = origin(sam, behaviour(sam, "/dacorum/apply.html"))
    assert form["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert form["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI beside it
    assert Stack(sam)(form["DomainName"]) == f"ct-sitebucket.s3.{REGION}.amazonaws.com"


# ---------------------------------------------------------------- the distribution


def test_every_path_is_https_only_to_the_viewer_and_to_the_api(sam):
    config = distribution(sam)
    for b in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert b["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only"), b
    api = origin(sam, behaviour(sam, "/api/applications"))["CustomOriginConfig"]
    assert api["OriginProtocolPolicy"] == "https-only" and api["OriginSSLProtocols"] == ["TLSv1.2"]


def test_the_form_is_cached_and_the_api_is_not(sam):
    assert behaviour(sam, "/dacorum/index.html")["CachePolicyId"] == site.CACHING_OPTIMIZED
    for path in ("/api/applications", "/api/console/cases", "/api/partner/requests/x?token=y"):
        b = behaviour(sam, path)
        assert b["CachePolicyId"] == site.CACHING_DISABLED, path
        # cookies (the console's session), query strings (partner links' tokens) and Authorization
        # (staff API calls) reach the API; Host does not (API Gateway answers to its own only)
        assert b["OriginRequestPolicyId"] == site.ALL_VIEWER_EXCEPT_HOST_HEADER
        assert set(b["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def test_the_api_origin_is_the_rest_apis_execute_api_host_and_the_path_keeps_its_stage(sam):
    api = origin(sam, behaviour(sam, "/api/console/cases"))
    assert Stack(sam)(api["DomainName"]) == f"{REST_API}.execute-api.{REGION}.amazonaws.com"
    assert not api.get("OriginPath")  # /api/... is the stage "api" already
    assert resource(sam, "RestAPI")["Properties"]["StageName"] == "api"


def test_the_consoles_fingerprinted_assets_are_cached_from_the_api(sam):
    b = behaviour(sam, "/api/console/assets/css/console.3f2a.css")
    assert b["CachePolicyId"] == site.CACHING_OPTIMIZED and origin(sam, b)["Id"] == site.API_ORIGIN
    assert set(b["AllowedMethods"]) == {"GET", "HEAD"}


@pytest.mark.parametrize("given", [NO_DOMAIN, API_ONLY])
def test_without_a_site_domain_the_distribution_uses_its_own_name_and_certificate(sam, given):
    config = Stack(sam, **given)(distribution(sam))
    assert config["Aliases"] is None  # AWS::NoValue
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}


@pytest.mark.parametrize("given", [SITE_DOMAIN, BOTH])
def test_a_site_domain_is_the_distributions_alias_with_its_us_east_1_certificate(sam, given):
    config = Stack(sam, **given)(distribution(sam))
    assert config["Aliases"] == [SITE]
    assert config["ViewerCertificate"] == {"AcmCertificateArn": SITE_CERT, "MinimumProtocolVersion": "TLSv1.2_2021",
                                           "SslSupportMethod": "sni-only"}


def test_a_site_domain_without_its_certificate_is_refused_before_anything_is_created(sam):
    stack = Stack(sam, SiteDomainName=SITE)
    rule = sam["Rules"]["SiteDomainHasCertificate"]
    assert stack(rule["RuleCondition"]) is True
    assert [stack(a["Assert"]) for a in rule["Assertions"]] == [False]
    assert Stack(sam, **SITE_DOMAIN)(rule["Assertions"][0]["Assert"]) is True


# ---------------------------------------------------------------- security headers


def headers_policy(sam, path: str, **given: str) -> dict[str, Any]:
    ref = behaviour(sam, path)["ResponseHeadersPolicyId"]["Ref"]
    return Stack(sam, **given)(resource(sam, ref)["Properties"]["ResponseHeadersPolicyConfig"])


def test_the_form_has_hsts_nosniff_deny_framing_a_referrer_policy_and_a_permissions_policy(sam):
    policy = headers_policy(sam, "/dacorum/apply.html")
    security = policy["SecurityHeadersConfig"]
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 63_072_000 and hsts["IncludeSubdomains"] and hsts["Override"]
    assert security["ContentTypeOptions"]["Override"]
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    # Origin is sent on the form's cross-site posts (the API refuses "Origin: null")
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    (permissions,) = policy["CustomHeadersConfig"]["Items"]
    assert permissions["Header"] == "Permissions-Policy" and "camera=()" in permissions["Value"]


@pytest.mark.parametrize("given, api_hosts", [
    (NO_DOMAIN, [EXECUTE_API.removesuffix("/api")]),
    (SITE_DOMAIN, [EXECUTE_API.removesuffix("/api")]),
    (API_ONLY, [f"https://{API_DOMAIN}", EXECUTE_API.removesuffix("/api")]),
])
def test_the_forms_csp_lets_it_load_only_its_own_files_and_post_only_to_the_api(sam, given, api_hosts):
    csp = headers_policy(sam, "/dacorum/apply.html", **given)["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp["ContentSecurityPolicy"].split("; ")}
    assert directives["default-src"] == ["'none'"]
    for kind in ("script-src", "style-src", "img-src"):
        assert directives[kind] == ["'self'"]
    assert directives["connect-src"] == directives["form-action"] == ["'self'", *api_hosts]
    assert directives["frame-ancestors"] == ["'none'"]


def test_the_apis_own_csp_and_headers_are_left_as_it_sets_them(sam):
    for path in ("/api/console/cases", "/api/applications", "/api/console/assets/js/x.js"):
        security = headers_policy(sam, path)["SecurityHeadersConfig"]
        assert "ContentSecurityPolicy" not in security  # the pages set their own (routes, console)
        assert not security["ReferrerPolicy"]["Override"] and not security["FrameOptions"]["Override"]
        assert security["StrictTransportSecurity"]["Override"]


# ---------------------------------------------------------------- the CloudFront function


def run_index_function(uri: str) -> dict[str, Any]:
    script = (site.INDEX_FUNCTION_CODE +
              f"\nconsole.log(JSON.stringify(handler({{request: {{uri: {json.dumps(uri)}, headers: {{}}}}}})));")
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(result.stdout)


def test_an_areas_folder_serves_its_start_page_and_its_files_as_they_are(sam):
    (association,) = behaviour(sam, "/dacorum/")["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert resource(sam, "SiteIndexFunction")["Properties"]["FunctionCode"] == site.INDEX_FUNCTION_CODE
    assert run_index_function("/dacorum/")["uri"] == "/dacorum/index.html"
    assert run_index_function("/")["uri"] == "/index.html"
    assert run_index_function("/dacorum/assets/form.css")["uri"] == "/dacorum/assets/form.css"
    moved = run_index_function("/dacorum")  # so apply.html resolves inside the folder
    assert moved["statusCode"] == 301 and moved["headers"]["location"]["value"] == "/dacorum/"


# ---------------------------------------------------------------- the API's custom domain


def test_an_api_domain_is_a_regional_tls_1_2_domain_mapped_at_its_root_to_the_api_stage(sam):
    domain, mapping = resource(sam, "ApiDomain"), resource(sam, "ApiBasePathMapping")
    assert domain["Condition"] == mapping["Condition"] == "HasApiDomain"
    props = Stack(sam, **API_ONLY)(domain["Properties"])
    assert props == {"DomainName": API_DOMAIN, "RegionalCertificateArn": API_CERT,
                     "EndpointConfiguration": {"Types": ["REGIONAL"]}, "SecurityPolicy": "TLS_1_2"}
    assert mapping["Properties"]["Stage"] == {"Ref": "RestAPI.Stage"}  # SAM: the "api" stage, created first
    assert mapping["Properties"]["RestApiId"] == {"Ref": "RestAPI"} and "BasePath" not in mapping["Properties"]
    assert Stack(sam, **API_ONLY).condition("HasApiDomain") and not Stack(sam).condition("HasApiDomain")


# ---------------------------------------------------------------- the functions' addresses


@pytest.mark.parametrize("given, expected", [
    (NO_DOMAIN, EXECUTE_API),
    (API_ONLY, f"https://{API_DOMAIN}"),
    (SITE_DOMAIN, f"https://{SITE}/api"),
    (BOTH, f"https://{SITE}/api"),  # one domain for the applicant, the partners and the staff
])
def test_partner_links_and_pages_use_the_councils_domain_when_it_has_one(sam, given, expected):
    # The sweep's letters carry partner links too; the API's own functions cannot be told execute-api's
    # address (RestAPI refers to them): empty, and learned from the first request.
    in_api = "" if expected == EXECUTE_API else expected
    assert env(sam, "PUBLIC_API_URL", **given) == in_api
    assert Stack(sam, **given)(resource(sam, "DeadlineSweep")["Properties"]["Environment"]["Variables"]["PUBLIC_API_URL"]) \
        == expected
    outputs = Stack(sam, **given)(sam["Outputs"])
    assert outputs["ApiUrl"]["Value"] == expected
    assert env(sam, "CONSOLE_BASE_URL", **given) == in_api
    assert outputs["ConsoleUrl"]["Value"] == f"{expected}/console/cases"


def test_every_function_has_the_same_addresses(sam):
    names = ("FORM_SITE_URL", "FORM_ORIGINS", "CONSOLE_BASE_URL")
    seen = {json.dumps({n: resource(sam, f)["Properties"]["Environment"]["Variables"][n] for n in names},
                       sort_keys=True) for f in FUNCTIONS}
    assert len(seen) == 1
    for given in (NO_DOMAIN, API_ONLY, SITE_DOMAIN, BOTH):  # the same wherever the stack can name it
        urls = {f: Stack(sam, **given)(resource(sam, f)["Properties"]["Environment"]["Variables"]["PUBLIC_API_URL"])
                for f in FUNCTIONS}
        assert len(set(urls.values()) - {""}) == 1 and {f for f, u in urls.items() if not u} <= {"APIHandler", "StaffAuth"}


def test_the_functions_addresses_never_reference_the_distribution(sam):
    # APIHandler <- RestAPI <- SiteDistribution: a reference back would be a cycle.
    text = json.dumps(resource(sam, "APIHandler")["Properties"]["Environment"])
    assert "SiteDistribution" not in text and "SiteBucket" not in text


@pytest.mark.parametrize("given, expected", [
    (NO_DOMAIN, ""),  # until the council passes the SiteUrl output as FormSiteUrl
    (SITE_DOMAIN, f"https://{SITE}/"),
    ({**SITE_DOMAIN, "FormSiteUrl": "https://forms.example.gov.uk/"}, "https://forms.example.gov.uk/"),
    ({"FormSiteUrl": "https://d111.cloudfront.net/"}, "https://d111.cloudfront.net/"),
])
def test_the_form_site_is_the_given_one_else_the_site_domain(sam, given, expected):
    assert env(sam, "FORM_SITE_URL", **given) == expected


def test_console_base_url_and_form_origins_are_optional_and_kept_when_given(sam):
    for name in ("ConsoleBaseUrl", "FormSiteUrl", "FormOrigins", "SiteDomainName", "SiteCertificateArn",
                 "ApiDomainName", "ApiCertificateArn", "SenderDomain"):
        assert sam["Parameters"][name]["Default"] == "" and sam["Parameters"][name]["Description"], name
    assert env(sam, "CONSOLE_BASE_URL", ConsoleBaseUrl="https://staff.example.gov.uk") == "https://staff.example.gov.uk"
    assert env(sam, "FORM_ORIGINS", FormOrigins="https://www.dacorum.gov.uk") == "https://www.dacorum.gov.uk"
    assert env(sam, "FORM_ORIGINS") == ""


def test_the_outputs_make_deploy_reads(sam):
    outputs = Stack(sam, **BOTH)(sam["Outputs"])
    assert outputs["SiteUrl"]["Value"] == f"https://{SITE}/"
    assert Stack(sam)(sam["Outputs"]["SiteUrl"]["Value"]) == "https://d111.cloudfront.net/"
    assert outputs["SiteBucketName"]["Value"] == "ct-sitebucket"
    assert outputs["SiteDistributionId"]["Value"] == "E2DIST"
    assert outputs["SiteDistributionDomainName"]["Value"] == "d111.cloudfront.net"
    assert sam["Outputs"]["ApiDomainTarget"]["Condition"] == "HasApiDomain"


# ---------------------------------------------------------------- the static form on the site


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "application-form":
            self.form = attrs
        if tag in ("script", "link") and (attrs.get("src") or attrs.get("href")):
            self.assets.append(attrs.get("src") or attrs["href"])


def test_the_form_built_for_the_site_posts_to_the_api_through_the_site(sam, tmp_path: Path):
    from app import app
    from form.build import build

    build(tmp_path, api_url=f"https://{SITE}/api", site_url=f"https://{SITE}/")
    parsed = _Form()
    parsed.feed((tmp_path / "dacorum" / "apply.html").read_text(encoding="utf-8"))
    action = parsed.form["action"]
    assert action == f"https://{SITE}/api/applications" and parsed.form["data-api"] == f"https://{SITE}/api"
    path = action.removeprefix(f"https://{SITE}")
    # CloudFront sends it to the API uncached, where stage "api" + route /applications takes the POST
    assert origin(sam, behaviour(sam, path))["Id"] == site.API_ORIGIN
    assert "POST" in behaviour(sam, path)["AllowedMethods"]
    assert "POST" in app.routes[path.removeprefix("/api")]
    # its stylesheet and script come from the bucket, on the same site
    assert parsed.assets and all(a.startswith(f"https://{SITE}/dacorum/assets/") for a in parsed.assets)
    for asset in parsed.assets:
        local = asset.removeprefix(f"https://{SITE}/")
        assert (tmp_path / local).exists() and origin(sam, behaviour(sam, "/" + local))["Id"] == site.FORM_ORIGIN


# ---------------------------------------------------------------- the sender domain


def test_the_sender_domain_signs_with_2048_bit_dkim_through_the_configuration_set_with_its_mail_from(sam):
    identity = resource(sam, "SenderIdentity")
    assert identity["Condition"] == "HasSenderDomain"
    props = Stack(sam, SenderDomain="example.gov.uk")(identity["Properties"])
    assert props == {
        "EmailIdentity": "example.gov.uk",
        "DkimAttributes": {"SigningEnabled": True},
        "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
        "ConfigurationSetAttributes": {"ConfigurationSetName": "ct-letters"},
        "MailFromAttributes": {"MailFromDomain": "mail.example.gov.uk", "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}}
    assert not Stack(sam).condition("HasSenderDomain")


def test_the_dns_records_for_the_sender_domain_are_listed_for_the_council(sam):
    outputs = Stack(sam, SenderDomain="example.gov.uk")(sam["Outputs"])
    assert outputs["SenderDomainDkimRecords"]["Value"].splitlines() == [
        f"k{n}._domainkey.example.gov.uk CNAME k{n}.dkim.amazonses.com" for n in (1, 2, 3)]
    assert outputs["SenderDomainMailFromRecords"]["Value"].splitlines() == [
        f"mail.example.gov.uk MX 10 feedback-smtp.{REGION}.amazonses.com",
        'mail.example.gov.uk TXT "v=spf1 include:amazonses.com ~all"']
    assert sam["Outputs"]["SenderDomainDkimRecords"]["Condition"] == "HasSenderDomain"

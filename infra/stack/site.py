"""The council's own addresses: the static form and the API behind one CloudFront distribution,
and optionally the API on a custom domain of its own.

- the form (python -m form.build: one folder per area) is in a private S3 bucket that only this
  distribution may read (origin access control, SigV4); the distribution adds the security headers;
- `/api/*` goes to the API's "api" stage uncached, so the console, the partner links and the form's
  posts are on the council's one domain (the stage is named "api", so the path passes through as is);
- ApiDomainName puts the API on a regional custom domain as well (execute-api otherwise).

The functions' addresses (PUBLIC_API_URL, FORM_SITE_URL, CONSOLE_BASE_URL) come from the
parameters, never from the distribution: it references RestAPI, which references APIHandler, so
APIHandler's environment cannot reference it back. A council without a SiteDomainName therefore
deploys once, then passes the SiteUrl output as FormSiteUrl.
"""
from __future__ import annotations

from typing import Any

# AWS's managed CloudFront policies (the same ids in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# Every viewer header but Host (API Gateway answers only to its own host name), cookies and the
# query string. With caching disabled it forwards Authorization too.
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

FORM_ORIGIN, API_ORIGIN = "form-site", "api"
EXECUTE_API_HOST = "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
HSTS_SECONDS = 63_072_000  # two years

PARAMETERS = {
    "SiteDomainName": {"Type": "String", "Default": "",
                       "Description": "The form and console's host name (e.g. community-trigger.example.gov.uk); "
                                      "empty: the distribution's cloudfront.net name"},
    "SiteCertificateArn": {"Type": "String", "Default": "",
                           "Description": "An ACM certificate for SiteDomainName, in us-east-1 (CloudFront's region)"},
    "ApiDomainName": {"Type": "String", "Default": "",
                      "Description": "A host name for the API itself (e.g. api.community-trigger.example.gov.uk); "
                                     "empty: none (the API is at <SiteDomainName>/api or execute-api)"},
    "ApiCertificateArn": {"Type": "String", "Default": "",
                          "Description": "An ACM certificate for ApiDomainName, in this stack's region"},
    "ConsoleBaseUrl": {"Type": "String", "Default": "",
                       "Description": "The console's public address; empty: the API's address (ApiUrl)"},
    "FormSiteUrl": {"Type": "String", "Default": "",
                    "Description": "Where the static form is hosted (make form SITE_URL=...); empty: "
                                   "https://<SiteDomainName>/. Without a SiteDomainName pass the SiteUrl output "
                                   "after the first deploy"},
    "FormOrigins": {"Type": "String", "Default": "",
                    "Description": "Comma-separated origins allowed to post the form (e.g. "
                                   "https://www.dacorum.gov.uk); empty: the form site's and the API's own"},
}

CONDITIONS = {
    # With its certificate (RULES refuses a domain without one; this tells cfn-lint so).
    "HasSiteDomain": {"Fn::And": [{"Fn::Not": [{"Fn::Equals": [{"Ref": "SiteDomainName"}, ""]}]},
                                  {"Fn::Not": [{"Fn::Equals": [{"Ref": "SiteCertificateArn"}, ""]}]}]},
    "HasApiDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiDomainName"}, ""]}]},
    "HasFormSiteUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "FormSiteUrl"}, ""]}]},
    "HasConsoleBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleBaseUrl"}, ""]}]},
}

# A domain without its certificate would fail half-way through the deploy; refuse it up front.
RULES = {
    "SiteDomainHasCertificate": {
        "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "SiteDomainName"}, ""]}]},
        "Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "SiteCertificateArn"}, ""]}]},
                        "AssertDescription": "SiteDomainName needs SiteCertificateArn (ACM, us-east-1)"}]},
    "ApiDomainHasCertificate": {
        "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiDomainName"}, ""]}]},
        "Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiCertificateArn"}, ""]}]},
                        "AssertDescription": "ApiDomainName needs ApiCertificateArn (ACM, this region)"}]},
}

# Partner links, the no-JavaScript pages and the console: on the council's site if it has one,
# else on the API's own domain, else on execute-api.
API_URL = {"Fn::If": ["HasSiteDomain", {"Fn::Sub": "https://${SiteDomainName}/api"},
                      {"Fn::If": ["HasApiDomain", {"Fn::Sub": "https://${ApiDomainName}"},
                                  {"Fn::Sub": f"https://{EXECUTE_API_HOST}/api"}]}]}
# The same for the functions RestAPI refers to (the API's and its authorizer): their settings cannot
# refer to RestAPI, or CloudFormation refuses the circular dependency. Empty: the API learns its
# execute-api address from its first request (chalicelib/routes/address.py).
API_URL_IN_API = {"Fn::If": ["HasSiteDomain", {"Fn::Sub": "https://${SiteDomainName}/api"},
                             {"Fn::If": ["HasApiDomain", {"Fn::Sub": "https://${ApiDomainName}"}, ""]}]}
FORM_SITE_URL = {"Fn::If": ["HasFormSiteUrl", {"Ref": "FormSiteUrl"},
                            {"Fn::If": ["HasSiteDomain", {"Fn::Sub": "https://${SiteDomainName}/"}, ""]}]}
# The console's address: ConsoleBaseUrl, else the API's on the council's domain; empty: the API's own
# (chalicelib.console_session.console_base). infra/stack/identity.py allows exactly these callbacks.
CONSOLE_BASE_URL = {"Fn::If": ["HasConsoleBaseUrl", {"Ref": "ConsoleBaseUrl"}, API_URL_IN_API]}
CONSOLE_URL_FOR_PEOPLE = {"Fn::If": ["HasConsoleBaseUrl", {"Ref": "ConsoleBaseUrl"}, API_URL]}

# The form posts and fetches only to the API: its own site's /api, or the API's other hosts when
# built with --api-url one of those. (Its pages also carry this policy, narrower, in a meta tag.)
API_HOSTS = {"Fn::If": ["HasApiDomain", {"Fn::Sub": f"https://${{ApiDomainName}} https://{EXECUTE_API_HOST}"},
                        {"Fn::Sub": f"https://{EXECUTE_API_HOST}"}]}
FORM_CSP = {"Fn::Join": ["", [
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' ", API_HOSTS,
    "; form-action 'self' ", API_HOSTS, "; frame-ancestors 'none'; base-uri 'none'"]]}
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")

# /area/ -> /area/index.html (S3 behind OAC has no index documents); /area -> /area/ so the pages'
# relative links (apply.html) resolve inside the area's folder.
INDEX_FUNCTION_CODE = """function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith('/')) {
    request.uri = uri + 'index.html';
  } else if (uri.lastIndexOf('.') < uri.lastIndexOf('/')) {
    return {statusCode: 301, statusDescription: 'Moved Permanently',
            headers: {location: {value: uri + '/'}, 'cache-control': {value: 'max-age=3600'}}};
  }
  return request;
}
"""


def _security_headers(*, override: bool, csp: Any = None) -> dict[str, Any]:
    headers: dict[str, Any] = {
        # Preload is left out: the HSTS preload list is a choice for the council's whole domain.
        "StrictTransportSecurity": {"AccessControlMaxAgeSec": HSTS_SECONDS, "IncludeSubdomains": True,
                                    "Preload": False, "Override": True},
        "ContentTypeOptions": {"Override": override},
        "FrameOptions": {"FrameOption": "DENY", "Override": override},
        # Not no-referrer or same-origin: browsers then send "Origin: null" on a cross-site form
        # post (the form on cloudfront.net posting to execute-api), which the API refuses.
        "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": override},
    }
    if csp is not None:
        headers["ContentSecurityPolicy"] = {"ContentSecurityPolicy": csp, "Override": override}
    return headers


def resources() -> dict[str, Any]:
    distribution_arn = {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}"}
    return {
        # Holds only the built form (no personal data), rebuilt by `make form`: deleted with the stack
        # (empty it first). Old versions are kept 30 days to roll back a bad upload.
        "SiteBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                       "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {"Rules": [{
                "Id": "ExpireOldVersions", "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]},
        }},
        "SiteBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "SiteBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "OnlyThisDistributionReads", "Effect": "Allow",
                 "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                 "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
                 "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}},
                {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [{"Fn::GetAtt": ["SiteBucket", "Arn"]}, {"Fn::Sub": "${SiteBucket.Arn}/*"}],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]},
        }},
        "SiteOriginAccessControl": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
            "OriginAccessControlConfig": {
                "Name": {"Fn::Sub": "${AWS::StackName}-site"},
                "Description": "CloudFront signs its requests to the form's bucket",
                "OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "SiteIndexFunction": {"Type": "AWS::CloudFront::Function", "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}-site-index"}, "AutoPublish": True,
            "FunctionConfig": {"Comment": "Serve each area's folder's index.html", "Runtime": "cloudfront-js-2.0"},
            "FunctionCode": INDEX_FUNCTION_CODE}},
        "SiteHeadersPolicy": {"Type": "AWS::CloudFront::ResponseHeadersPolicy", "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": {"Fn::Sub": "${AWS::StackName}-form-headers"},
                "Comment": "The static form's security headers",
                "SecurityHeadersConfig": _security_headers(override=True, csp=FORM_CSP),
                "CustomHeadersConfig": {"Items": [
                    {"Header": "Permissions-Policy", "Value": PERMISSIONS_POLICY, "Override": True}]}}}},
        # The API sets its own Content-Security-Policy (and Referrer-Policy) per page: none is added
        # here, and the API's own headers win over these.
        "ApiHeadersPolicy": {"Type": "AWS::CloudFront::ResponseHeadersPolicy", "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": {"Fn::Sub": "${AWS::StackName}-api-headers"},
                "Comment": "Security headers for the API's answers, which keep their own",
                "SecurityHeadersConfig": _security_headers(override=False),
                "CustomHeadersConfig": {"Items": [
                    {"Header": "Permissions-Policy", "Value": PERMISSIONS_POLICY, "Override": False}]}}}},
        "SiteDistribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Enabled": True,
            "Comment": {"Fn::Sub": "${AWS::StackName}: the form and the API"},
            "HttpVersion": "http2and3",
            "IPV6Enabled": True,
            "PriceClass": "PriceClass_100",  # Europe and North America: the applicants are in the UK
            "Aliases": {"Fn::If": ["HasSiteDomain", [{"Ref": "SiteDomainName"}], {"Ref": "AWS::NoValue"}]},
            "ViewerCertificate": {"Fn::If": [
                "HasSiteDomain",
                {"AcmCertificateArn": {"Ref": "SiteCertificateArn"}, "MinimumProtocolVersion": "TLSv1.2_2021",
                 "SslSupportMethod": "sni-only"},
                {"CloudFrontDefaultCertificate": True}]},
            "Origins": [
                {"Id": FORM_ORIGIN, "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                 "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]},
                 "S3OriginConfig": {"OriginAccessIdentity": ""}},
                {"Id": API_ORIGIN, "DomainName": {"Fn::Sub": EXECUTE_API_HOST},
                 "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "HTTPSPort": 443,
                                        "OriginSSLProtocols": ["TLSv1.2"]}},
            ],
            "DefaultCacheBehavior": {
                "TargetOriginId": FORM_ORIGIN, "ViewerProtocolPolicy": "redirect-to-https",
                "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"], "Compress": True,
                "CachePolicyId": CACHING_OPTIMIZED,
                "ResponseHeadersPolicyId": {"Ref": "SiteHeadersPolicy"},
                "FunctionAssociations": [{"EventType": "viewer-request",
                                          "FunctionARN": {"Fn::GetAtt": ["SiteIndexFunction", "FunctionARN"]}}]},
            "CacheBehaviors": [
                # The console's assets are fingerprinted (a new build is a new name): cached.
                {"PathPattern": "/api/console/assets/*", "TargetOriginId": API_ORIGIN,
                 "ViewerProtocolPolicy": "https-only", "AllowedMethods": ["GET", "HEAD"],
                 "CachedMethods": ["GET", "HEAD"], "Compress": True, "CachePolicyId": CACHING_OPTIMIZED,
                 "ResponseHeadersPolicyId": {"Ref": "ApiHeadersPolicy"}},
                # Everything else of the API is personal or per session: never cached; cookies,
                # query strings (the partner links' tokens) and Authorization go through.
                {"PathPattern": "/api/*", "TargetOriginId": API_ORIGIN,
                 "ViewerProtocolPolicy": "https-only",
                 "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                 "CachedMethods": ["GET", "HEAD"], "Compress": True, "CachePolicyId": CACHING_DISABLED,
                 "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
                 "ResponseHeadersPolicyId": {"Ref": "ApiHeadersPolicy"}},
            ],
        }}},
        "ApiDomain": {"Type": "AWS::ApiGateway::DomainName", "Condition": "HasApiDomain", "Properties": {
            "DomainName": {"Ref": "ApiDomainName"},
            "RegionalCertificateArn": {"Ref": "ApiCertificateArn"},
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "SecurityPolicy": "TLS_1_2"}},
        # The domain's root is the "api" stage: https://<ApiDomainName>/console/cases.
        # RestAPI.Stage (SAM) names the stage and makes CloudFormation create it first.
        "ApiBasePathMapping": {"Type": "AWS::ApiGateway::BasePathMapping", "Condition": "HasApiDomain",
                               "Properties": {
            "DomainName": {"Ref": "ApiDomain"}, "RestApiId": {"Ref": "RestAPI"},
            "Stage": {"Ref": "RestAPI.Stage"}}},
    }


OUTPUTS = {
    "ApiUrl": {"Description": "The API's public address (partner links, the form's --api-url)", "Value": API_URL},
    "SiteUrl": {"Description": "The form site's address (make form SITE_URL=...)",
                "Value": {"Fn::If": ["HasSiteDomain", {"Fn::Sub": "https://${SiteDomainName}/"},
                                     {"Fn::Sub": "https://${SiteDistribution.DomainName}/"}]}},
    "SiteBucketName": {"Description": "Upload the built form here (aws s3 sync build/form s3://<bucket>/)",
                       "Value": {"Ref": "SiteBucket"}},
    "SiteDistributionId": {"Description": "Invalidate this distribution after uploading the form",
                           "Value": {"Ref": "SiteDistribution"}},
    "SiteDistributionDomainName": {"Description": "SiteDomainName's DNS CNAME (or alias) target",
                                   "Value": {"Fn::GetAtt": ["SiteDistribution", "DomainName"]}},
    "ConsoleUrl": {"Description": "The staff console",
                   "Value": {"Fn::Join": ["", [CONSOLE_URL_FOR_PEOPLE, "/console/cases"]]}},
    "ApiDomainTarget": {"Description": "ApiDomainName's DNS CNAME target", "Condition": "HasApiDomain",
                        "Value": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}},
}


def fragment() -> dict[str, Any]:
    return {
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Rules": RULES,
        "Resources": resources(),
        "Outputs": OUTPUTS,
        "Variables": {
            "PUBLIC_API_URL": API_URL,
            "FORM_SITE_URL": FORM_SITE_URL,
            # Empty: the API allows the form site's origin and its own (chalicelib/routes/applicants.py).
            "FORM_ORIGINS": {"Ref": "FormOrigins"},
            "CONSOLE_BASE_URL": CONSOLE_BASE_URL,
        },
    }

"""Who staff are: a Cognito user pool made by the stack (the default), or Microsoft Entra ID given
by parameters (IdentityProvider=entra, the Jwt*/Oidc* parameters of infra.build_template).

The pool: users are created by an administrator only (no sign-up), sign in with their email, a
strong password and an authenticator app (TOTP MFA, required), and recover their account by email.
The groups are the roles (chalicelib.auth.ROLES, read from cognito:groups); the custom attribute
`areas` holds the person's area ids, comma-separated (custom:areas). The console's app client is
public (authorization code with PKCE, no client secret: chalicelib.oidc), its id tokens carry
aud = the client id, which the staff API's authorizer checks too (JWT_AUDIENCE).
"""
from __future__ import annotations

from typing import Any

from chalicelib.auth import ROLES

POOL, CLIENT, DOMAIN = "StaffUserPool", "StaffConsoleClient", "StaffUserPoolDomain"
GROUP_DESCRIPTIONS = {
    "spoc": "Single point of contact: runs the area's case reviews",
    "appeals": "The appeals body: hears appeals against a review's outcome",
    "admin": "Administers the service (reports, subject access requests)",
}
# The console builds its redirect URI as <CONSOLE_BASE_URL>/console/callback (chalicelib.console_session.
# console_base; infra/stack/site.py CONSOLE_BASE_URL): ConsoleBaseUrl, else the API on the council's
# site or API domain. Without any of them the console's address is execute-api's, which the app client
# cannot name: the API's functions need the client's id, and the API refers to them (a circular
# dependency). Then no console client is made (CognitoConsole), and the console is set up by deploying
# again with ConsoleBaseUrl (e.g. <SiteUrl>/api, the distribution's address).


def console_url(path: str) -> dict[str, Any]:
    return {"Fn::If": ["IdentityHasConsoleBaseUrl", {"Fn::Sub": f"${{ConsoleBaseUrl}}{path}"},
                       {"Fn::If": ["HasSiteDomain", {"Fn::Sub": f"https://${{SiteDomainName}}/api{path}"},
                                   {"Fn::Sub": f"https://${{ApiDomainName}}{path}"}]}]}


ISSUER = {"Fn::Sub": f"https://${{{POOL}.ProviderURL}}"}  # ProviderURL: cognito-idp.<region>.amazonaws.com/<pool id>


CLIENT_ID = {"Fn::If": ["CognitoConsole", {"Ref": CLIENT}, ""]}


def _either(cognito: Any, entra: Any) -> dict[str, Any]:
    return {"Fn::If": ["UseCognito", cognito, entra]}


def fragment() -> dict[str, Any]:
    cognito = {"Condition": "UseCognito"}
    resources: dict[str, Any] = {
        POOL: {"Type": "AWS::Cognito::UserPool", **cognito,
               # Deleting the pool deletes every staff account: kept, and protected against deletion.
               "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {
            "UserPoolName": {"Fn::Sub": "${AWS::StackName}-staff"},
            "DeletionProtection": "ACTIVE",
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "UsernameAttributes": ["email"],
            "AutoVerifiedAttributes": ["email"],
            "Policies": {"PasswordPolicy": {"MinimumLength": 14, "RequireLowercase": True, "RequireUppercase": True,
                                            "RequireNumbers": True, "RequireSymbols": True,
                                            "TemporaryPasswordValidityDays": 3}},
            "MfaConfiguration": "ON",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
            "Schema": [{"Name": "areas", "AttributeDataType": "String", "Mutable": True,
                        "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}],
            "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
        }},
        # With cognito the rule CognitoNeedsDomainPrefix makes the prefix required, so this condition
        # is UseCognito's; it says so to cfn-lint too, which otherwise checks the default ("").
        DOMAIN: {"Type": "AWS::Cognito::UserPoolDomain", "Condition": "UseCognitoDomain", "Properties": {
            "Domain": {"Ref": "CognitoDomainPrefix"}, "UserPoolId": {"Ref": POOL}}},
        CLIENT: {"Type": "AWS::Cognito::UserPoolClient", "Condition": "CognitoConsole", "Properties": {
            "ClientName": {"Fn::Sub": "${AWS::StackName}-console"},
            "UserPoolId": {"Ref": POOL},
            "GenerateSecret": False,  # a public client with PKCE (chalicelib.oidc)
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": ["openid", "email", "profile"],
            "SupportedIdentityProviders": ["COGNITO"],
            "CallbackURLs": [console_url("/console/callback")],
            "LogoutURLs": [console_url("/console/signed-out")],
            # Only the hosted sign-in (with its MFA): no password flows from scripts.
            "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
            "ReadAttributes": ["email", "email_verified", "name", "custom:areas"],
            # Never custom:areas: who may see which area is for an administrator to set.
            "WriteAttributes": ["email", "name"],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
        }},
    }
    for group, description in GROUP_DESCRIPTIONS.items():
        resources[f"StaffGroup{group.capitalize()}"] = {"Type": "AWS::Cognito::UserPoolGroup", **cognito, "Properties": {
            "GroupName": group, "Description": description, "UserPoolId": {"Ref": POOL}}}
    assert set(GROUP_DESCRIPTIONS) == set(ROLES), "a group for every role the API knows"
    not_empty = lambda name: {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]}  # noqa: E731
    return {
        "Parameters": {
            "IdentityProvider": {"Type": "String", "Default": "cognito", "AllowedValues": ["cognito", "entra"],
                                 "Description": "cognito: the stack makes a user pool for staff; entra: Microsoft "
                                                "Entra ID, given by JwtIssuer, JwtAudience, JwksUrl, Oidc*"},
            "CognitoDomainPrefix": {"Type": "String", "Default": "", "MaxLength": 63,
                                    "Description": "With cognito: the sign-in page's address, "
                                                   "https://<prefix>.auth.<region>.amazoncognito.com (required)"},
        },
        "Conditions": {
            "UseCognito": {"Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]},
            "UseCognitoDomain": {"Fn::And": [{"Condition": "UseCognito"},
                                             {"Fn::Not": [{"Fn::Equals": [{"Ref": "CognitoDomainPrefix"}, ""]}]}]},
            "IdentityHasConsoleBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleBaseUrl"}, ""]}]},
            "CognitoConsole": {"Fn::And": [{"Condition": "UseCognito"}, {"Fn::Or": [
                {"Condition": "IdentityHasConsoleBaseUrl"}, {"Condition": "HasSiteDomain"}, {"Condition": "HasApiDomain"}]}]},
        },
        "Rules": {
            "CognitoNeedsDomainPrefix": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]},
                "Assertions": [{"Assert": not_empty("CognitoDomainPrefix"),
                                "AssertDescription": "IdentityProvider cognito needs CognitoDomainPrefix"}]},
            "EntraNeedsIssuer": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "IdentityProvider"}, "entra"]},
                "Assertions": [{"Assert": not_empty(name), "AssertDescription": f"IdentityProvider entra needs {name}"}
                               for name in ("JwtIssuer", "JwtAudience", "JwksUrl", "OidcIssuer", "OidcClientId")]},
        },
        "Resources": resources,
        "Outputs": {
            "UserPoolId": {**cognito, "Description": "The staff user pool (add people and their groups here)",
                           "Value": {"Ref": POOL}},
            "UserPoolClientId": {"Condition": "CognitoConsole", "Description": "The console's app client",
                                 "Value": {"Ref": CLIENT}},
        },
        # What the functions read (chalicelib.auth, chalicelib.oidc): derived from the pool with
        # cognito, the parameters with entra.
        "Variables": {
            "JWT_ISSUER": _either(ISSUER, {"Ref": "JwtIssuer"}),
            "JWT_AUDIENCE": _either(CLIENT_ID, {"Ref": "JwtAudience"}),
            "JWKS_URL": _either({"Fn::Sub": f"https://${{{POOL}.ProviderURL}}/.well-known/jwks.json"}, {"Ref": "JwksUrl"}),
            "ROLES_CLAIM": _either("cognito:groups", {"Ref": "RolesClaim"}),
            "AREAS_CLAIM": _either("custom:areas", {"Ref": "AreasClaim"}),
            "OIDC_ISSUER": _either(ISSUER, {"Ref": "OidcIssuer"}),
            "OIDC_CLIENT_ID": _either(CLIENT_ID, {"Ref": "OidcClientId"}),
            "OIDC_CLIENT_SECRET_PARAMETER": _either("", {"Ref": "OidcClientSecretParameter"}),
            "OIDC_END_SESSION_URL": _either(
                {"Fn::Sub": "https://${CognitoDomainPrefix}.auth.${AWS::Region}.amazoncognito.com/logout"},
                {"Ref": "OidcEndSessionUrl"}),
        },
    }

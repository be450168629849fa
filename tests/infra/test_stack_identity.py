"""The packaged template's staff identity (infra/stack/identity.py) and partner-link secret
(infra/stack/secrets.py), as CloudFormation will read them."""
from __future__ import annotations

import pytest

from chalicelib.auth import ROLES
from chalicelib.rotation import MIN_ROTATION_DAYS
from infra.build_template import FUNCTIONS

pytestmark = pytest.mark.slow


def of_type(sam, kind):
    return {name: r for name, r in sam["Resources"].items() if r["Type"] == kind}


def test_the_new_parameters_have_defaults_and_descriptions(sam):
    params = sam["Parameters"]
    for name in ("IdentityProvider", "CognitoDomainPrefix", "LinkSecretRotationDays", "JwtIssuer", "JwtAudience",
                 "JwksUrl", "RolesClaim", "AreasClaim", "OidcIssuer", "OidcClientId", "OidcClientSecretParameter",
                 "OidcScopes", "OidcEndSessionUrl"):
        assert "Default" in params[name] and params[name]["Description"], name
    assert params["IdentityProvider"]["Default"] == "cognito"
    assert params["IdentityProvider"]["AllowedValues"] == ["cognito", "entra"]
    assert params["LinkSecretRotationDays"]["Default"] == "90"
    assert params["LinkSecretRotationDays"]["MinValue"] >= MIN_ROTATION_DAYS


def test_cognito_needs_a_domain_prefix_and_entra_its_issuer(sam):
    rules = sam["Rules"]
    assert rules["CognitoNeedsDomainPrefix"]["RuleCondition"] == {"Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]}
    asserted = {a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"] for a in rules["EntraNeedsIssuer"]["Assertions"]}
    assert {"JwtIssuer", "JwtAudience", "JwksUrl", "OidcIssuer", "OidcClientId"} <= asserted


def test_the_user_pool_admits_only_people_an_administrator_adds_with_mfa(sam):
    [(name, pool)] = of_type(sam, "AWS::Cognito::UserPool").items()
    assert pool["Condition"] == "UseCognito" and pool["DeletionPolicy"] == "Retain"
    p = pool["Properties"]
    assert p["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert p["MfaConfiguration"] == "ON" and p["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert p["UsernameAttributes"] == ["email"] and p["DeletionProtection"] == "ACTIVE"
    assert p["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Name": "verified_email", "Priority": 1}]
    password = p["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12 and all(password[k] for k in (
        "RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert {"Name": "areas", "AttributeDataType": "String", "Mutable": True}.items() <= p["Schema"][0].items()


def test_a_group_for_each_role(sam):
    groups = of_type(sam, "AWS::Cognito::UserPoolGroup").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == sorted(ROLES)
    assert all(g["Condition"] == "UseCognito" and g["Properties"]["UserPoolId"] == {"Ref": "StaffUserPool"} for g in groups)


def test_the_console_client_is_public_with_the_code_flow_to_the_consoles_callback(sam):
    [client] = of_type(sam, "AWS::Cognito::UserPoolClient").values()
    p = client["Properties"]
    assert p["GenerateSecret"] is False and p["AllowedOAuthFlows"] == ["code"]
    assert sorted(p["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    [callback], [signed_out] = p["CallbackURLs"], p["LogoutURLs"]
    for url, path in ((callback, "/console/callback"), (signed_out, "/console/signed-out")):
        # Exactly where the console sends people back (CONSOLE_BASE_URL, infra/stack/site.py):
        # ConsoleBaseUrl, else the council's site's /api, else the API's own domain. Never
        # execute-api's: the API's functions need this client's id (a circular dependency).
        assert url == {"Fn::If": ["IdentityHasConsoleBaseUrl", {"Fn::Sub": "${ConsoleBaseUrl}" + path},
                                  {"Fn::If": ["HasSiteDomain", {"Fn::Sub": "https://${SiteDomainName}/api" + path},
                                              {"Fn::Sub": "https://${ApiDomainName}" + path}]}]}
    assert client["Condition"] == "CognitoConsole"
    assert sam["Conditions"]["CognitoConsole"] == {"Fn::And": [{"Condition": "UseCognito"}, {"Fn::Or": [
        {"Condition": "IdentityHasConsoleBaseUrl"}, {"Condition": "HasSiteDomain"}, {"Condition": "HasApiDomain"}]}]}
    assert "custom:areas" in p["ReadAttributes"] and "custom:areas" not in p["WriteAttributes"]
    [domain] = of_type(sam, "AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == {"Ref": "CognitoDomainPrefix"}


def test_every_function_reads_its_identity_settings_from_the_pool_with_cognito(sam):
    for function in FUNCTIONS:
        env = sam["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["JWT_ISSUER"] == {"Fn::If": ["UseCognito", {"Fn::Sub": "https://${StaffUserPool.ProviderURL}"},
                                                {"Ref": "JwtIssuer"}]}
        assert env["JWT_AUDIENCE"]["Fn::If"][1] == env["OIDC_CLIENT_ID"]["Fn::If"][1] == {
            "Fn::If": ["CognitoConsole", {"Ref": "StaffConsoleClient"}, ""]}
        assert env["ROLES_CLAIM"]["Fn::If"][1] == "cognito:groups" and env["AREAS_CLAIM"]["Fn::If"][1] == "custom:areas"
        assert env["JWKS_URL"]["Fn::If"][1]["Fn::Sub"].endswith("/.well-known/jwks.json")
        assert ".amazoncognito.com/logout" in env["OIDC_END_SESSION_URL"]["Fn::If"][1]["Fn::Sub"]
        assert env["LINK_SECRET_ARN"] == {"Ref": "PartnerLinkSecret"}


def test_the_outputs_make_deploy_reads(sam):
    outputs = sam["Outputs"]
    assert outputs["UserPoolId"]["Condition"] == "UseCognito"
    assert outputs["UserPoolClientId"]["Condition"] == "CognitoConsole"
    assert outputs["PartnerLinkSecretArn"]["Value"] == {"Ref": "PartnerLinkSecret"}


def test_the_partner_link_secret_is_generated_and_rotated_by_its_own_function(sam):
    secret = sam["Resources"]["PartnerLinkSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret" and secret["DeletionPolicy"] == "Retain"
    assert secret["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "search_key"
    [schedule] = of_type(sam, "AWS::SecretsManager::RotationSchedule").values()
    assert schedule["Properties"]["RotationLambdaARN"] == {"Fn::GetAtt": ["RotateLinkSecret", "Arn"]}
    assert schedule["Properties"]["RotationRules"]["AutomaticallyAfterDays"] == {"Ref": "LinkSecretRotationDays"}
    function = sam["Resources"]["RotateLinkSecret"]["Properties"]
    assert function["Handler"] == "chalicelib.routes.rotation.rotate_link_secret"
    permission = sam["Resources"]["PartnerLinkSecretRotationPermission"]["Properties"]
    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["RotateLinkSecret", "Arn"]}


def test_only_the_functions_that_sign_links_may_read_the_secret_and_only_the_rotation_may_change_it(sam):
    policies = {name: r["Properties"] for name, r in of_type(sam, "AWS::IAM::Policy").items()}
    read = policies["PartnerLinkSecretRead"]
    assert sorted(r["Ref"] for r in read["Roles"]) == ["ApiHandlerRole", "CaseRetentionRole", "DeadlineSweepRole",
                                                       "LetterRetryRole", "LetterSenderRole"]
    assert all(r["Ref"] in sam["Resources"] for r in read["Roles"])
    [statement] = read["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue" and statement["Resource"] == {"Ref": "PartnerLinkSecret"}
    rotate = policies["RotateLinkSecretAccess"]
    assert rotate["Roles"] == [{"Ref": "RotateLinkSecretRole"}] and "RotateLinkSecretRole" in sam["Resources"]
    [statement] = rotate["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "PartnerLinkSecret"}
    assert "secretsmanager:PutSecretValue" in statement["Action"]
    changing = {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
    for name, policy in policies.items():
        if name != "RotateLinkSecretAccess":
            actions = {a for s in policy["PolicyDocument"]["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
            assert not actions & changing, name

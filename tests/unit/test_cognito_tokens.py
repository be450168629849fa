"""What the staff API's authorizer makes of the tokens a Cognito user pool issues (IdentityProvider
cognito: infra/stack/identity.py sets ROLES_CLAIM=cognito:groups, AREAS_CLAIM=custom:areas and
JWT_AUDIENCE to the console's app client id)."""
from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.auth import InvalidToken, TokenVerifier
from infra.dev_issuer import sign

POOL_ISSUER = "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbCdEf123"
CLIENT_ID = "5kq3example0client0id0abcde"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=POOL_ISSUER, audience=CLIENT_ID, keys=lambda kid: KEY.public_key(),
                         roles_claim="cognito:groups", areas_claim="custom:areas")


def id_token(**extra) -> str:
    now = int(time.time())
    claims = {"iss": POOL_ISSUER, "aud": CLIENT_ID, "sub": "0f6e-uuid", "token_use": "id", "auth_time": now,
              "iat": now, "exp": now + 3600, "email": "spoc@derbyshire.example", "email_verified": True,
              "cognito:username": "0f6e-uuid", "cognito:groups": ["spoc"], "custom:areas": "derbyshire,hart"}
    return sign({**claims, **extra}, KEY)


def test_an_id_token_gives_the_groups_as_roles_and_the_comma_separated_areas():
    person = verifier().verify(f"Bearer {id_token()}")
    assert person.roles == {"spoc"} and person.areas == {"derbyshire", "hart"}
    assert person.name == "spoc@derbyshire.example"  # no name attribute set: the email


def test_areas_written_with_spaces_and_groups_the_api_does_not_know():
    person = verifier().verify(f"Bearer {id_token(**{'custom:areas': 'derbyshire, hart', 'cognito:groups': ['appeals', 'eu-west-2_AbCdEf123_Google']})}")
    assert person.roles == {"appeals"} and person.areas == {"derbyshire", "hart"}


def test_a_person_in_no_group_and_no_areas_has_no_roles():
    token = sign({k: v for k, v in jwt.decode(id_token(), options={"verify_signature": False}).items()
                  if k not in ("cognito:groups", "custom:areas")}, KEY)
    person = verifier().verify(f"Bearer {token}")
    assert person.roles == frozenset() and person.areas == frozenset()


def test_an_access_token_is_refused_it_names_no_audience_and_carries_no_areas():
    now = int(time.time())
    access = sign({"iss": POOL_ISSUER, "client_id": CLIENT_ID, "sub": "0f6e-uuid", "token_use": "access",
                   "scope": "openid email profile", "iat": now, "exp": now + 3600, "cognito:groups": ["spoc"]}, KEY)
    with pytest.raises(InvalidToken):
        verifier().verify(f"Bearer {access}")


def test_an_id_token_for_another_app_client_or_pool_is_refused():
    with pytest.raises(InvalidToken):
        verifier().verify(f"Bearer {id_token(aud='another-client')}")
    with pytest.raises(InvalidToken):
        verifier().verify(f"Bearer {id_token(iss='https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Other')}")

"""Staff authentication: a bearer JWT from the council's identity provider (Amazon Cognito,
Microsoft Entra ID, or the local development issuer), checked against the issuer's published
keys (JWKS), issuer, audience and expiry. Roles and areas come from claims whose names are
configurable, because each provider puts them somewhere else:

    Cognito:   ROLES_CLAIM=cognito:groups   AREAS_CLAIM=custom:areas
    Entra ID:  ROLES_CLAIM=roles            AREAS_CLAIM=extn.areas (a directory extension)

Roles: `spoc` works its areas' cases; `appeals` (the Police and Crime Commissioner's office)
handles appeals for the areas it covers; `admin` may do both. An areas value of "*" means all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable

ROLES = ("spoc", "appeals", "admin")
ALGORITHMS = ["RS256", "ES256"]


class InvalidToken(Exception):
    """Missing, malformed, badly signed, expired, or for another issuer or audience."""


@dataclass(frozen=True)
class Principal:
    subject: str
    name: str
    roles: frozenset[str]
    areas: frozenset[str]

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles)) or "admin" in self.roles

    def covers(self, area: str) -> bool:
        return "*" in self.areas or area in self.areas

    @property
    def actor(self) -> str:
        """How the audit trail names this person: their name and subject, no other personal data."""
        return f"{self.name} ({self.subject})"

    # API Gateway passes an authorizer's context on as strings only.
    def to_context(self) -> dict[str, str]:
        return {"subject": self.subject, "name": self.name, "roles": " ".join(sorted(self.roles)),
                "areas": " ".join(sorted(self.areas))}

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> "Principal":
        return cls(subject=str(context.get("subject") or context.get("principalId") or ""),
                   name=str(context.get("name") or ""),
                   roles=frozenset(str(context.get("roles") or "").split()),
                   areas=frozenset(str(context.get("areas") or "").split()))


def _as_set(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, Iterable):
        return frozenset(str(v) for v in value)
    return frozenset()


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    keys: Callable[[str], Any]  # key id -> public key
    roles_claim: str = "roles"
    areas_claim: str = "areas"
    leeway_seconds: int = 30

    def verify(self, authorization: str | None) -> Principal:
        """A bearer token (the staff API)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise InvalidToken("no bearer token")
        return self.principal(self.claims(authorization.removeprefix("Bearer ").strip()))

    def claims(self, token: str, *, nonce: str | None = None) -> dict[str, Any]:
        """A JWT's claims once its signature, issuer, audience and expiry are checked; with `nonce`,
        an OpenID Connect id_token must also carry that nonce (the console's sign-in)."""
        import hmac

        import jwt

        try:
            header = jwt.get_unverified_header(token)
            key = self.keys(header.get("kid", ""))
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway_seconds, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidToken(type(exc).__name__) from None
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise InvalidToken("nonce")
        return claims

    def principal(self, claims: dict[str, Any]) -> Principal:
        """Who the claims name, with roles and areas read from the configured claims."""
        roles = _as_set(claims.get(self.roles_claim)) & set(ROLES)
        return Principal(subject=str(claims["sub"]), name=str(claims.get("name") or claims.get("email") or claims["sub"]),
                         roles=roles, areas=_as_set(claims.get(self.areas_claim)))


def jwks_keys(url: str) -> Callable[[str], Any]:
    """Keys from the issuer's JWKS endpoint, cached by PyJWT and refetched for an unknown key id
    (so the issuer can rotate keys)."""
    import jwt

    client = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)

    def key(kid: str) -> Any:
        try:
            return client.get_signing_key(kid).key
        except jwt.PyJWKClientError as exc:
            raise KeyError(kid) from exc

    return key


def verifier_from_environment() -> TokenVerifier:
    return TokenVerifier(
        issuer=os.environ["JWT_ISSUER"],
        audience=os.environ["JWT_AUDIENCE"],
        keys=jwks_keys(os.environ["JWKS_URL"]),
        roles_claim=os.environ.get("ROLES_CLAIM", "roles"),
        areas_claim=os.environ.get("AREAS_CLAIM", "areas"),
    )


def unauthorized() -> Exception:
    """What a failed authorizer raises. API Gateway answers 401 only for an exception whose message
    is exactly "Unauthorized"; chalice local and its test client answer 401 for their own error.
    chalice.local is absent in Lambda (only chalice's runtime is packaged)."""
    try:
        from chalice.local import NotAuthorizedError
    except ImportError:
        return Exception("Unauthorized")
    return NotAuthorizedError({"x-amzn-ErrorType": "UnauthorizedException"}, b'{"message":"Unauthorized"}')

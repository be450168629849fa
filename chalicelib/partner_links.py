"""Partner links: signed, bound to one request, expiring, revocable, stored only as a hash.

A token is the request's (reference, request id, expiry, nonce) signed with HMAC-SHA256 under a
secret held in the parameter store. It is deterministic, so the same link can be sent again
(a chaser) from the stored nonce without ever storing the token; rotating the nonce revokes it.
The stored SHA-256 of the issued token must match the one presented: a correctly signed token
that was never issued for that request is refused too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date

SALT = "community-trigger.partner-return-link"


class LinkRefused(Exception):
    """The link cannot be used. `reason` is one of: invalid, expired, revoked, case_closed. `policy` is
    the area's, once the link is known to be ours, so the page can say whom to contact."""

    def __init__(self, reason: str, policy: object | None = None):
        self.reason = reason
        self.policy = policy
        super().__init__(reason)


@dataclass(frozen=True)
class LinkClaims:
    ref: str
    request_id: str
    expires_on: date
    nonce: str


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hashes_match(token: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(token_hash(token), stored_hash)


class LinkSigner:
    def __init__(self, secret: bytes):
        if len(secret) < 32:
            raise ValueError("the partner-link secret must be at least 32 bytes")
        from itsdangerous import URLSafeSerializer  # only the partner routes pay for it

        self._serializer = URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})

    def token(self, ref: str, request_id: str, expires_on: date, nonce: str) -> str:
        return self._serializer.dumps([ref, request_id, expires_on.isoformat(), nonce])

    def read(self, token: str) -> LinkClaims:
        """Check the signature and shape. Expiry, revocation and issue are checked against storage."""
        from itsdangerous import BadData

        if not token or len(token) > 400:
            raise LinkRefused("invalid")
        try:
            ref, request_id, expires_on, nonce = self._serializer.loads(token)
            return LinkClaims(str(ref), str(request_id), date.fromisoformat(expires_on), str(nonce))
        except (BadData, ValueError, TypeError):
            raise LinkRefused("invalid") from None

"""Partner links: signed, bound to one request, expiring, revocable, stored only as a hash.

A token is the request's (reference, request id, expiry, nonce) signed with HMAC-SHA256 under a
key of the partner-link secret (Secrets Manager; chalicelib.adapters.secrets): signed with the
newest key, verified with each key the secret holds, so links outlive one rotation. It is deterministic, so the same link can be sent again
(a chaser) from the stored nonce without ever storing the token; rotating the nonce revokes it.
The stored SHA-256 of the issued token must match the one presented: a correctly signed token
that was never issued for that request is refused too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from collections.abc import Callable, Sequence
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
    """`secret`: one key, or the keys oldest first (the last signs, any verifies). `refresh`, if
    given, is asked once for the keys again when a token verifies under none of them: a link signed
    with a key this process has not cached yet (minutes after a rotation)."""

    def __init__(self, secret: bytes | Sequence[bytes], refresh: Callable[[], Sequence[bytes] | None] | None = None):
        keys = [secret] if isinstance(secret, bytes) else list(secret)
        if not keys or any(len(k) < 32 for k in keys):
            raise ValueError("the partner-link secret must be at least 32 bytes")
        self._keys = keys
        self._refresh = refresh

    @staticmethod
    def _serializer(keys: Sequence[bytes]):  # noqa: ANN205 - itsdangerous is imported lazily
        from itsdangerous import URLSafeSerializer  # only the partner routes pay for it

        return URLSafeSerializer(list(keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})

    def token(self, ref: str, request_id: str, expires_on: date, nonce: str) -> str:
        return self._serializer(self._keys).dumps([ref, request_id, expires_on.isoformat(), nonce])

    def tokens(self, ref: str, request_id: str, expires_on: date, nonce: str) -> list[str]:
        """The token each key gives, newest key first: a link already sent (its hash stored) is
        sent again as it was, whichever key signed it."""
        return [self._serializer([k]).dumps([ref, request_id, expires_on.isoformat(), nonce]) for k in reversed(self._keys)]

    def read(self, token: str) -> LinkClaims:
        """Check the signature and shape. Expiry, revocation and issue are checked against storage."""
        from itsdangerous import BadData, BadSignature

        if not token or len(token) > 400:
            raise LinkRefused("invalid")
        try:
            try:
                payload = self._serializer(self._keys).loads(token)
            except BadSignature:
                newer = self._refresh() if self._refresh else None
                if not newer or list(newer) == self._keys:
                    raise
                self._keys = list(newer)
                payload = self._serializer(self._keys).loads(token)
            ref, request_id, expires_on, nonce = payload
            return LinkClaims(str(ref), str(request_id), date.fromisoformat(expires_on), str(nonce))
        except (BadData, ValueError, TypeError):
            raise LinkRefused("invalid") from None

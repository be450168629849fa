"""The local development identity provider: an RSA key kept in .local/ (never committed), its
JWKS served by `make run`, and tokens minted for any role and area.

    make token ROLE=spoc AREA=hart            # prints a bearer token for curl
    make token ROLE=appeals AREA=derbyshire,hart NAME="OPCC Officer"

In production the issuer is Amazon Cognito or Microsoft Entra ID; the API checks tokens the same way.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KEY_FILE = REPO / ".local" / "dev-issuer-key.pem"
KID = "dev-issuer-1"
AUDIENCE = "community-trigger-local"


def issuer_url() -> str:
    return f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('OUTBOX_PORT', '8025')}/dev-issuer"


def private_key() -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        KEY_FILE.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        KEY_FILE.chmod(0o600)
    return serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)


def jwks() -> dict[str, Any]:
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(private_key().public_key()))
    return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}


def mint(role: str, areas: list[str], name: str, minutes: int = 480) -> str:
    import jwt

    now = int(time.time())
    claims = {"iss": issuer_url(), "aud": AUDIENCE, "sub": f"dev-{role}-{'-'.join(areas)}", "name": name,
              "roles": [role], "areas": areas, "iat": now, "exp": now + minutes * 60}
    return jwt.encode(claims, private_key(), algorithm="RS256", headers={"kid": KID})


def environment() -> dict[str, str]:
    """What the API needs to trust this issuer."""
    return {"JWT_ISSUER": issuer_url(), "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": f"{issuer_url()}/.well-known/jwks.json"}


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a development bearer token")
    parser.add_argument("--role", default="spoc", choices=["spoc", "appeals", "admin"])
    parser.add_argument("--area", default="derbyshire", help="area id(s), comma-separated, or * for all")
    parser.add_argument("--name", default=None)
    parser.add_argument("--minutes", type=int, default=480)
    args = parser.parse_args()
    areas = [a.strip() for a in args.area.split(",") if a.strip()]
    print(mint(args.role, areas, args.name or f"Dev {args.role.upper()} ({', '.join(areas)})", args.minutes))


if __name__ == "__main__":
    main()

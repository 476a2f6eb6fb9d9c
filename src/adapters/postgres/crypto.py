"""Encryption at rest for OAuth tokens and vendor account ids (the QuickBooks realm id): Fernet
(AES-128-CBC + HMAC-SHA256) from `cryptography`, with keys derived from DEALBOOKS_SECRET_KEY by
HKDF-SHA256. A sealed value cannot be searched, so what is looked up by value (a realm id, from
a webhook) is also kept as a keyed digest: HMAC-SHA256 under a key of its own, which says
nothing about the value to whoever lacks the secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"dealbooks", info=purpose).derive(
        secret_key.encode()
    )


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"oauth-tokens-v1")))
        self._lookup_key = _derive(secret_key, b"lookup-digest-v1")

    def seal(self, values: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, ciphertext: str) -> dict[str, str]:
        try:
            values: dict[str, str] = json.loads(self._fernet.decrypt(ciphertext.encode()))
        except InvalidToken:
            raise ValueError(
                "stored secrets cannot be decrypted: DEALBOOKS_SECRET_KEY changed?"
            ) from None
        return values

    def digest(self, value: str) -> str:
        """The keyed digest that finds a sealed ``value`` (64 hex characters)."""
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()

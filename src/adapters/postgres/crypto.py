"""Encryption at rest for OAuth tokens: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`,
with a key derived from DEALBOOKS_SECRET_KEY by HKDF-SHA256."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"dealbooks", info=b"oauth-tokens-v1"
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, values: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, ciphertext: str) -> dict[str, str]:
        try:
            values: dict[str, str] = json.loads(self._fernet.decrypt(ciphertext.encode()))
        except InvalidToken:
            raise ValueError(
                "stored tokens cannot be decrypted: DEALBOOKS_SECRET_KEY changed?"
            ) from None
        return values

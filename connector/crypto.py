"""Secrets at rest: Fernet tokens under the keys in settings.FIELD_ENCRYPTION_KEYS (newest first)."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: its key is missing from FIELD_ENCRYPTION_KEYS"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (after adding a key in front of FIELD_ENCRYPTION_KEYS)."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code sees the plain value. Empty stays empty (no secret set)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


def secret_fields(model, prefix: str = "") -> list[str]:
    """The encrypted fields of `model`, under a select_related `prefix` ("site__"): for `defer()` in queries that
    need no secret, since each is decrypted as it is loaded."""
    return [f"{prefix}{f.name}" for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]

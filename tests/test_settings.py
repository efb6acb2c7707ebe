import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import settings as config_settings
from tests.conftest import REPO


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_boolean_settings_refuse_ambiguous_values(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        config_settings.envbool("SOME_FLAG", False)


def test_number_settings_refuse_words(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        config_settings.envint("SOME_NUMBER", 1)


def test_a_secret_can_come_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "key").write_text("s3cret\n")
    monkeypatch.setenv("SOME_SECRET_FILE", str(tmp_path / "key"))
    assert config_settings.envsecret("SOME_SECRET") == "s3cret"


def _manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "FIELD_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="x.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    from cryptography.fernet import Fernet

    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=Fernet.generate_key().decode() * 2,
        DJANGO_ALLOWED_HOSTS="connector.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/connector",
        REDIS_URL="redis://127.0.0.1:6379/9",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout

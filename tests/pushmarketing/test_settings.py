from __future__ import annotations

import os
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings


def _production_env() -> dict[str, str]:
    # The browser tests allow async-unsafe ORM calls in this process; production never does.
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
            "PUSH_CREDENTIALS_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "push.example.com",
        }
    )
    return env


def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_credentials_key():
    env = _production_env()
    del env["PUSH_CREDENTIALS_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PUSH_CREDENTIALS_KEY must be set" in result.stderr

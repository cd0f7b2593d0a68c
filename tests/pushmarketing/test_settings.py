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


def test_gunicorn_serves_the_sdk_api_with_the_production_settings(tmp_path):
    # What docker-compose.yml and bench/register.py run: `-c python:pushmarketing.gunicorn_conf`.
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**_production_env(), "SECURE_SSL_REDIRECT": "0", "WEB_CONCURRENCY": "1"}
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    env["PM_VAR_DIR"] = str(tmp_path)  # the heartbeat and any stray files stay out of var/
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:pushmarketing.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "pushmarketing.wsgi:application"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        answer = None
        while answer is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/sdk/v1/devices/register")
            except urllib.error.HTTPError as error:
                answer = error
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        assert answer.code == 401  # the SDK API answered: no key and secret
        assert answer.headers["Content-Type"] == "application/json"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Using worker: sync" in output, output
    assert output.count("Booting worker") == 1, output  # WEB_CONCURRENCY=1

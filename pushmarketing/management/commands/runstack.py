"""`make run`: the whole product in one terminal — web, Celery worker, scheduler and the push
simulator — each a real process, stopped together with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web app, a Celery worker, the scheduler and the push simulator together."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-simulator", action="store_true")

    def handle(self, *args: Any, addr: str, no_simulator: bool, **options: Any) -> None:
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        processes = {
            "web": [python, manage, "runserver", addr, "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "pushmarketing",
                "worker",
                "-Q",
                "send,bulk,default",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
            ],
            "scheduler": [
                python,
                "-m",
                "celery",
                "-A",
                "pushmarketing",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        }
        if settings.PUSH_SIMULATOR_ENABLED and not no_simulator:
            processes["simulator"] = [python, manage, "push_simulator"]
        children: dict[str, subprocess.Popen[bytes]] = {}
        for name, argv in processes.items():
            if name == "simulator":
                try:
                    __import__("notifications.management.commands.push_simulator")
                except ImportError:
                    continue
            children[name] = subprocess.Popen(argv, env=os.environ.copy())  # noqa: S603 - our own argv (manage.py / celery), no user input
            self.stdout.write(f"started {name} (pid {children[name].pid})")
        self.stdout.write(
            self.style.SUCCESS(
                f"\nPushMarketing is running at http://{addr}/\n"
                "  admin / admin-demo-pass        (admin)\n"
                "  marketer / marketer-demo-pass  (marketer)\n"
                "  approver / approver-demo-pass  (approver)\n"
                "Press Ctrl-C to stop.\n"
            )
        )
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

"""`make run`: the whole product in one terminal — web, Celery workers (sends, and the
interactive lane for samples and credential checks), scheduler (beat) and the push simulator —
each a real process, stopped together with Ctrl-C.

Each process's output (stdout and stderr) is read line by line and printed with its name in
front (`web`, `worker`, `lane`, `beat`, `sim`), coloured when the terminal is a TTY (not when
piped or with NO_COLOR set), so five processes' lines do not run together."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, OutputWrapper

# ANSI colours per process: cyan, yellow, blue, magenta, green.
PROCESS_COLOURS = {"web": "36", "worker": "33", "lane": "34", "beat": "35", "sim": "32"}
RESET = "\x1b[0m"


def prefix_line(name: str, line: str, *, width: int, colour: bool) -> str:
    """`line` as printed for process `name`: "web    | line", the label padded to `width`."""
    label = f"{name.ljust(width)} |"
    if colour:
        label = f"\x1b[{PROCESS_COLOURS.get(name, '1')}m{label}{RESET}"
    return f"{label} {line}" if line else label


def wants_colour(stream: Any, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour on a terminal only; NO_COLOR (no-color.org) turns it off, FORCE_COLOR on."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _pump(
    name: str, source: IO[bytes], out: OutputWrapper, lock: threading.Lock, width: int, colour: bool
) -> None:
    for raw in iter(source.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        with lock:
            out.write(prefix_line(name, line, width=width, colour=colour))
            out.flush()
    source.close()


def metrics_env(environ: Mapping[str, str]) -> dict[str, str]:
    """One counters folder for every child, so /metrics sees the worker's sends (README,
    Metrics). Ours under var/ is emptied at each start: a stopped stack's counts are gone, as
    after any restart. A folder set in the environment is used as it is."""
    if environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return {}
    folder = settings.VAR_DIR / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(folder)}


def site_env(environ: Mapping[str, str], addr: str) -> dict[str, str]:
    """SITE_URL for the children, from the address served when the environment sets none:
    image URLs, sample pushes and pairing links are absolute, and with `make run
    ADDR=127.0.0.1:8765` they pointed at the default :8000, where nothing answers."""
    if environ.get("SITE_URL"):
        return {}
    host, _, port = addr.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):  # noqa: S104 - reading the address, not binding one
        host = "127.0.0.1"  # every interface: this machine's own address reaches it
    return {"SITE_URL": f"http://{host}:{port}"}


def _celery_worker(queues: str, *, concurrency: int, name: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "pushmarketing", "worker", "-Q", queues,
        "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", f"{name}@%h",
    ]  # fmt: skip


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
            "worker": _celery_worker("send,bulk,default", concurrency=2, name="worker"),
            # Samples and Verify push configuration get a worker of their own: one that also
            # consumed `send` or `bulk` could be busy with a 1,000-row chunk (or all of a
            # trigger backlog) when someone clicks Send sample. One process is enough.
            "lane": _celery_worker("interactive", concurrency=1, name="interactive"),
            "beat": [
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
            # The settings already point the app at the simulator: its set-up advice is noise here.
            processes["sim"] = [python, manage, "push_simulator", "--no-setup-advice"]
        children: dict[str, subprocess.Popen[bytes]] = {}
        pumps: list[threading.Thread] = []
        lock = threading.Lock()
        width = max(len(name) for name in processes)
        colour = wants_colour(self.stdout)
        # Children write into pipes, not a terminal: unbuffered, or their lines arrive late.
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            **metrics_env(os.environ),
            **site_env(os.environ, addr),
        }
        for name, argv in processes.items():
            if name == "sim":
                try:
                    __import__("notifications.management.commands.push_simulator")
                except ImportError:
                    continue
            child = subprocess.Popen(  # noqa: S603 - our own argv (manage.py / celery), no user input
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            children[name] = child
            if child.stdout is None:  # never: stdout=PIPE above; narrows the type
                continue
            pump = threading.Thread(
                target=_pump,
                args=(name, child.stdout, self.stdout, lock, width, colour),
                name=f"runstack-{name}",
                daemon=True,
            )
            pump.start()
            pumps.append(pump)
            with lock:
                self.stdout.write(f"started {name} (pid {child.pid})")
        with lock:
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
                        with lock:
                            self.stderr.write(
                                f"{name} exited with code {child.returncode}; stopping"
                            )
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
            # The children's last lines (shutdown messages) are still in the pipes.
            for pump in pumps:
                pump.join(timeout=2)

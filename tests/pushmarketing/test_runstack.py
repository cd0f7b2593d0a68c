"""Issue 13 item 8: `make run`'s processes print under their names, coloured on a TTY
only, and the simulator leaves out the set-up advice runstack has already applied."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import OutputWrapper

from notifications.management.commands.push_simulator import simulator_banner
from pushmarketing.core.celery import QUEUES
from pushmarketing.management.commands import runstack
from pushmarketing.management.commands.runstack import _pump, prefix_line, wants_colour

REPO = Path(__file__).resolve().parents[2]


def test_prefix_line_pads_the_name_and_colours_only_when_asked():
    assert prefix_line("web", "GET / 200", width=6, colour=False) == "web    | GET / 200"
    assert prefix_line("worker", "ready", width=6, colour=False) == "worker | ready"
    assert prefix_line("sim", "", width=6, colour=False) == "sim    |"
    assert prefix_line("beat", "tick", width=6, colour=True) == "\x1b[35mbeat   |\x1b[0m tick"
    assert prefix_line("web", "x", width=3, colour=True).startswith("\x1b[36mweb |")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_only_and_no_color_wins():
    assert wants_colour(_Tty(), {}) is True
    assert wants_colour(io.StringIO(), {}) is False
    assert wants_colour(_Tty(), {"NO_COLOR": "1"}) is False
    assert wants_colour(io.StringIO(), {"FORCE_COLOR": "1"}) is True


def test_pump_prefixes_every_line_of_a_process():
    out = io.StringIO()
    source = io.BytesIO(b"first\r\nsecond \xff\n\nlast without newline")
    _pump("worker", source, OutputWrapper(out), threading.Lock(), 6, False)
    assert out.getvalue().splitlines() == [
        "worker | first",
        "worker | second \ufffd",
        "worker |",
        "worker | last without newline",
    ]


class _FakeChild:
    """A process that printed its lines and exited (so runstack stops at once)."""

    started: list[list[str]] = []
    environments: list[dict[str, str]] = []

    def __init__(self, argv: list[str], **kwargs: object) -> None:
        name = "sim" if "push_simulator" in argv else "beat" if "beat" in argv else "other"
        self.argv, self.pid, self.returncode = argv, 4242, 0
        self.stdout = io.BytesIO(f"hello from {name}\n".encode())
        assert kwargs["env"]["PYTHONUNBUFFERED"] == "1"  # type: ignore[index]
        _FakeChild.started.append(argv)
        _FakeChild.environments.append(kwargs["env"])  # type: ignore[arg-type]

    def poll(self) -> int:
        return 0

    def terminate(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def kill(self) -> None:
        pass


@pytest.mark.django_db
def test_runstack_prefixes_its_children_and_quiets_the_simulator(monkeypatch, settings):
    settings.PUSH_SIMULATOR_ENABLED = True
    monkeypatch.delenv("SITE_URL", raising=False)
    _FakeChild.started, _FakeChild.environments = [], []
    monkeypatch.setattr(runstack.subprocess, "Popen", _FakeChild)
    monkeypatch.setattr(runstack.signal, "signal", lambda *args: None)
    out, err = io.StringIO(), io.StringIO()
    call_command("runstack", addr="127.0.0.1:8999", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert "sim    | hello from sim" in lines
    assert "beat   | hello from beat" in lines
    assert not any("\x1b[" in line for line in lines)  # not a terminal: no colour
    (sim_argv,) = [argv for argv in _FakeChild.started if "push_simulator" in argv]
    assert sim_argv[-1] == "--no-setup-advice"
    assert "web exited with code 0; stopping" in err.getvalue()
    # Image URLs, sample pushes and pairing links name the address actually served.
    assert {env["SITE_URL"] for env in _FakeChild.environments} == {"http://127.0.0.1:8999"}


@pytest.mark.parametrize(
    ("environ", "addr", "expected"),
    [
        ({}, "127.0.0.1:8765", {"SITE_URL": "http://127.0.0.1:8765"}),
        ({}, "0.0.0.0:8000", {"SITE_URL": "http://127.0.0.1:8000"}),
        ({}, "8001", {"SITE_URL": "http://127.0.0.1:8001"}),
        ({"SITE_URL": "https://push.example.com"}, "127.0.0.1:8765", {}),  # a set one wins
    ],
)
def test_site_url_follows_the_address_unless_set(environ, addr, expected):
    assert runstack.site_env(environ, addr) == expected


def _consumed_queues(argv: list[str]) -> set[str]:
    return set(argv[argv.index("-Q") + 1].split(",")) if "-Q" in argv else set()


@pytest.mark.django_db
def test_runstack_workers_consume_every_queue_and_samples_have_a_lane(monkeypatch, settings):
    settings.PUSH_SIMULATOR_ENABLED = False
    _FakeChild.started = []
    monkeypatch.setattr(runstack.subprocess, "Popen", _FakeChild)
    monkeypatch.setattr(runstack.signal, "signal", lambda *args: None)
    call_command("runstack", stdout=io.StringIO(), stderr=io.StringIO())
    workers = [_consumed_queues(argv) for argv in _FakeChild.started if "worker" in argv]
    assert set().union(*workers) == set(QUEUES)
    assert {"interactive"} in workers  # no send or batch backlog stands in front of a sample


def test_docker_compose_workers_consume_every_queue_and_samples_have_a_lane():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    workers = {
        name: _consumed_queues(service["command"])
        for name, service in compose["services"].items()
        if "worker" in service.get("command", [])
    }
    assert set().union(*workers.values()) == set(QUEUES)
    assert workers["worker-interactive"] == {"interactive"}


def test_simulator_banner_leaves_out_the_advice_when_told():
    simulator = SimpleNamespace(
        host="127.0.0.1",
        fcm_port=8701,
        apns_port=8702,
        fcm_base_url="http://127.0.0.1:8701",
        fcm_token_uri="http://127.0.0.1:8701/token",
    )
    creds = SimpleNamespace(
        directory=Path("var/simulator"),
        apns_key_id="SIMKEY0001",
        apns_team_id="SIMTEAM001",
        apns_topic="com.example.demo",
        client_p12_password="pw",
        ca_file=Path("var/simulator/ca.pem"),
    )
    full = simulator_banner(simulator, creds, advice=True)  # type: ignore[arg-type]
    quiet = simulator_banner(simulator, creds, advice=False)  # type: ignore[arg-type]
    assert "Point the app at it with:" in full and "  APNS_PORT=8702" in full
    assert quiet == full[: len(quiet)]
    assert not any("Point the app" in line or "=" in line for line in quiet)
    assert quiet[0].startswith("FCM simulator:  http://127.0.0.1:8701")


def test_runstack_gives_every_child_one_emptied_metrics_folder(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    stale = tmp_path / "prometheus" / "counter_old-7.db"
    stale.parent.mkdir()
    stale.write_bytes(b"counts of the last run")

    env = runstack.metrics_env({})

    assert env == {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    assert list((tmp_path / "prometheus").iterdir()) == []


def test_runstack_leaves_a_metrics_folder_from_the_environment_alone(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "counter_x-1.db").write_bytes(b"keep")

    assert runstack.metrics_env({"PROMETHEUS_MULTIPROC_DIR": str(mine)}) == {}
    assert (mine / "counter_x-1.db").read_bytes() == b"keep"

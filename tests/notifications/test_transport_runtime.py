from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest

from notifications.transports import runtime
from notifications.transports.base import Outcome, OutgoingPush

pytest_plugins = ["tests.simulator_fixtures"]


def test_run_uses_one_long_lived_loop_in_a_daemon_thread():
    async def current():
        return asyncio.get_running_loop(), threading.current_thread()

    loop_a, thread_a = runtime.run(current())
    loop_b, thread_b = runtime.run(current())

    assert loop_a is loop_b
    assert thread_a is thread_b and thread_a.daemon
    assert thread_a is not threading.current_thread()


def test_run_refuses_to_block_the_loop_on_itself():
    async def nested():
        async def inner():
            return 1

        runtime.run(inner())

    with pytest.raises(RuntimeError, match="await instead"):
        runtime.run(nested())


def test_forked_child_starts_without_the_parents_loop_or_clients(fcm_config):
    runtime.transport_for(fcm_config(app_id=61))
    read_end, write_end = os.pipe()

    pid = os.fork()
    if pid == 0:  # the child: report what it inherited, then leave without cleanup
        try:
            state = f"{runtime._loop is None},{runtime._clients == {}}"

            async def answer():
                return 42

            state += f",{runtime.run(answer(), timeout=10)}"
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            state = repr(exc)
        os.write(write_end, state.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    report = os.read(read_end, 200).decode()
    os.close(read_end)

    assert report == "True,True,42"
    assert runtime._clients  # the parent keeps its own


def test_send_many_returns_results_in_order_for_mixed_answers(fcm_config):
    tokens = ["tok-ok-1", "tok-unregistered-2", "tok-ratelimit-3", "tok-ok-4"]
    pushes = [
        OutgoingPush(i, token, {"token": token, "notification": {"body": "x"}})
        for i, token in enumerate(tokens)
    ]

    results = runtime.send_many(fcm_config(), pushes)

    assert [r.outcome for r in results] == [
        Outcome.SENT, Outcome.TOKEN_INVALID, Outcome.RETRY, Outcome.SENT,
    ]  # fmt: skip


def test_a_transport_that_raises_is_turned_into_a_retry(fcm_config, monkeypatch):
    config = fcm_config(app_id=62)
    transport = runtime.transport_for(config)

    async def broken(push, **kwargs):
        raise KeyError("library bug")

    monkeypatch.setattr(transport, "send", broken)

    [result] = runtime.send_many(config, [OutgoingPush(1, "tok-ok", {"token": "tok-ok"})])

    assert result.outcome == Outcome.RETRY
    assert "KeyError" in result.reason


def test_validate_only_is_refused_for_apns(apns_config):
    with pytest.raises(ValueError, match="validate_only: only FCM"):
        runtime.send_many(apns_config(), [OutgoingPush(1, "ab" * 32, {})], validate_only=True)


def test_streaming_yields_each_answer_as_it_arrives_and_ticks_while_waiting(fcm_config):
    # `slow` tokens wait the simulator's slow_latency_ms (3 s): the fast answers must not.
    import time

    pushes = [
        OutgoingPush(i, token, {"token": token, "notification": {"body": "x"}})
        for i, token in enumerate(["tok-slow-1", "tok-ok-2", "tok-unregistered-3", "tok-ok-4"])
    ]
    started = time.monotonic()
    seen: list[tuple[int, Outcome, float]] = []
    ticks = 0
    for answer in runtime.send_streaming([(fcm_config(app_id=63), pushes)], tick=0.05):
        if answer is None:
            ticks += 1
            continue
        push, result = answer
        seen.append((push.delivery_id, result.outcome, time.monotonic() - started))
    assert sorted(i for i, _, _ in seen) == [0, 1, 2, 3]
    assert seen[-1][:2] == (0, Outcome.SENT)  # the slow one last
    fast = [elapsed for i, _, elapsed in seen if i != 0]
    assert max(fast) < 1.5 < seen[-1][2]  # the others did not wait for it
    assert ticks >= 10  # while only the slow one was out: a tick every 50 ms


def test_streaming_fails_a_group_whose_client_cannot_be_built(fcm_config, monkeypatch):
    def unusable(config):  # noqa: ANN001, ANN202
        raise ValueError("private key does not parse")

    monkeypatch.setattr(runtime, "_build", unusable)
    pushes = [OutgoingPush(1, "tok-ok-1", {"token": "tok-ok-1"})]
    [(push, result)] = [
        a for a in runtime.send_streaming([(fcm_config(app_id=64), pushes)]) if a is not None
    ]
    assert (push.delivery_id, result.outcome, result.credentials_rejected) == (
        1, Outcome.FAILED, True,
    )  # fmt: skip
    assert "private key does not parse" in result.reason


def test_fcm_clients_of_every_app_share_one_connection_pool_per_process(fcm_config):
    """FCM authenticates each request by its header, so a process keeps one pool of at most
    PUSH_SEND_CONCURRENCY connections whatever the number of apps; a client rebuilt for a new
    credential version leaves the pool open for the others."""
    push = OutgoingPush(1, "tok-ok-1", {"token": "tok-ok-1", "notification": {"body": "x"}})
    first, second = fcm_config(app_id=71), fcm_config(app_id=72)
    assert runtime.send_one(first, push).outcome == Outcome.SENT
    assert runtime.send_one(second, push).outcome == Outcome.SENT

    def pool(config):  # noqa: ANN001, ANN202
        return runtime.transport_for(config)._session.connector  # type: ignore[attr-defined]

    shared = pool(first)
    assert shared is pool(second)
    assert shared.limit == first.concurrency
    # Sent in turn, the second app reused the first one's keep-alive connection.
    assert sum(len(idle) for idle in shared._conns.values()) == 1

    rebuilt = fcm_config(app_id=71, version=2)  # the old client closes in the background
    assert runtime.send_one(rebuilt, push).outcome == Outcome.SENT
    assert pool(rebuilt) is shared and not shared.closed
    assert runtime.send_one(second, push).outcome == Outcome.SENT

    runtime.close_all()
    assert shared.closed
    assert runtime.send_one(second, push).outcome == Outcome.SENT  # a new pool
    assert pool(second) is not shared


def test_a_worker_imports_the_provider_libraries_before_its_pool_forks():
    # A fresh interpreter: this test process imported aiohttp and aioapns long ago. Celery
    # sends worker_init in the worker's main process before it forks the pool, so the
    # children inherit the imports instead of each paying for them on its first chunk.
    script = (
        "import sys, django; django.setup()\n"
        "from celery.signals import worker_init\n"
        "import campaigns.delivery.tasks\n"
        "before = {'aioapns', 'aiohttp'} & set(sys.modules)\n"
        "worker_init.send(sender=None)\n"
        "print(sorted(before), sorted({'aioapns', 'aiohttp', 'h2.connection'} & set(sys.modules)))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pushmarketing.settings", "DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[] ['aioapns', 'aiohttp', 'h2.connection']"

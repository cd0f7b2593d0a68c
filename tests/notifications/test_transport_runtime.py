from __future__ import annotations

import asyncio
import os
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

"""The embedded default's broker writes each message atomically: a consumer polling the
folder never reads a half-written file (kombu's own transport wrote in place, and an empty
read took the worker down)."""

from __future__ import annotations

from queue import Empty

import pytest
from kombu import Connection

from pushmarketing.core.filesystem_broker import SCHEME


@pytest.fixture
def channel(tmp_path):  # noqa: ANN001, ANN201
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection(f"{SCHEME}://", transport_options=options) as connection:
        yield connection.default_channel, folder


def test_a_message_round_trips(channel):
    ch, folder = channel
    ch._put("send", {"body": "hello"})
    assert [p.suffix for p in folder.iterdir()] == [".msg"]  # no leftover part file
    assert ch._get("send") == {"body": "hello"}


def test_a_file_still_being_written_is_not_taken(channel):
    ch, folder = channel
    (folder / "1_abc.send.msg.part").write_bytes(b"")  # a writer mid-way
    with pytest.raises(Empty):
        ch._get("send")
    assert (folder / "1_abc.send.msg.part").exists()

"""The APNs transport's HTTP/2 connection (`_LeanH2Connection`) against an in-memory h2 server:
it still refuses a stream over the server's limit, forgets closed streams, and sends the
per-request headers as plain literals the server decodes."""

from __future__ import annotations

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import RequestReceived
from h2.exceptions import TooManyStreamsError
from h2.settings import SettingCodes

from notifications.transports.apns import _LeanH2Connection, _never_indexed

TOKEN = "ab" * 32


class Pair:
    def __init__(self, max_streams: int) -> None:
        self.client = _LeanH2Connection()
        self.server = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.client.initiate_connection()
        self.server.initiate_connection()
        self.server.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: max_streams})
        self.requests: list[RequestReceived] = []
        self.exchange()

    def exchange(self) -> None:
        while True:
            to_server, to_client = self.client.data_to_send(), self.server.data_to_send()
            if not to_server and not to_client:
                return
            for event in self.server.receive_data(to_server):
                if isinstance(event, RequestReceived):
                    self.requests.append(event)
            self.client.receive_data(to_client)

    def open(self, n: int = 0) -> int:
        stream_id = self.client.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            _never_indexed(":path", f"/3/device/{TOKEN}"),
            (":authority", "api.push.apple.com"),
            _never_indexed("apns-id", f"00000000-0000-0000-0000-{n:012d}"),
        ]
        self.client.send_headers(stream_id, headers, end_stream=True)
        return stream_id

    def answer_all(self) -> None:
        self.exchange()
        for request in self.requests:
            self.server.send_headers(request.stream_id, [(":status", "200")], end_stream=True)
        self.requests.clear()
        self.exchange()


def test_a_stream_over_the_servers_limit_is_still_refused():
    pair = Pair(max_streams=3)
    for n in range(3):
        pair.open(n)

    with pytest.raises(TooManyStreamsError):
        pair.open(3)

    pair.answer_all()
    pair.open(4)  # the exact recount sees the three closed


def test_closed_streams_are_forgotten_as_h2_forgets_them():
    pair = Pair(max_streams=1000)
    for wave in range(20):
        for n in range(100):
            pair.open(wave * 100 + n)
        pair.answer_all()

    assert len(pair.client.streams) <= _LeanH2Connection.RECOUNT_EVERY + 100


def test_per_request_headers_go_out_as_plain_literals_the_server_decodes():
    pair = Pair(max_streams=10)
    pair.open(7)
    wire = pair.client.data_to_send()

    assert f"/3/device/{TOKEN}".encode() in wire  # not Huffman-coded
    for event in pair.server.receive_data(wire):
        if isinstance(event, RequestReceived):
            headers = dict(event.headers)
            assert headers[":path"] == f"/3/device/{TOKEN}"
            assert headers["apns-id"] == "00000000-0000-0000-0000-000000000007"
    # Never indexed: the next request's token is a literal again, not a table reference.
    pair.open(8)
    assert f"/3/device/{TOKEN}".encode() in pair.client.data_to_send()

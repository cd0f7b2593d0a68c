"""The send path encodes each push once (notifications.payloads.*_encoded) to measure it and
to send it: those bytes must be the message itself, and the size the one the limit checks."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from notifications.content import PushContent, RenderedText
from notifications.payloads import (
    PushIds,
    apns_payload_encoded,
    apns_payload_size,
    apns_request,
    fcm_message,
    fcm_message_encoded,
    fcm_payload_size,
)
from notifications.simulator import client as sim_client
from notifications.transports import runtime
from notifications.transports.base import Outcome, OutgoingPush

pytest_plugins = ["tests.simulator_fixtures"]

IDS = PushIds(delivery_id=41, notification_id=7, run_id=3)
texts = st.text(min_size=1, max_size=60)  # any Unicode: quotes, backslashes, emoji, controls


def _content(body: str, title: str, data_value: str) -> tuple[PushContent, RenderedText]:
    content = PushContent(message=body, title=title, custom_data={'k"ey': data_value})
    return content, RenderedText(title=title, subtitle="", body=body, tap_uri="")


@given(body=texts, title=st.text(max_size=30), data_value=texts, token=texts)
def test_fcm_encoding_is_the_message_and_counts_what_fcm_counts(body, title, data_value, token):
    content, text = _content(body, title, data_value)
    message = fcm_message(content, text, IDS, token)

    encoded, size = fcm_message_encoded(message)

    assert json.loads(encoded) == message
    assert size == fcm_payload_size(message)


def test_fcm_encoding_of_a_message_without_other_keys():
    assert fcm_message_encoded({"token": "t"}) == (b'{"token":"t"}', 2)
    assert fcm_message_encoded({"data": {"a": "é"}}) == ('{"data":{"a":"é"}}'.encode(), 19)


@given(body=texts, title=st.text(max_size=30), data_value=texts)
def test_apns_encoding_is_the_payload_and_its_size(body, title, data_value):
    content, text = _content(body, title, data_value)
    request = apns_request(content, text, IDS, topic="com.example.app")

    encoded, size = apns_payload_encoded(request)

    assert json.loads(encoded) == request.payload
    assert size == apns_payload_size(request) == len(encoded)


def test_the_transports_send_the_encoded_bytes(push_simulator, fcm_config, apns_config):
    content, text = _content('Héllo "there"', "Sale", "X1")
    token = "tok-ok-encoded01"
    message = fcm_message(content, text, IDS, token)
    fcm_push = OutgoingPush(1, token, message, fcm_message_encoded(message)[0])
    ios_token = "a0a0" + "e" * 60
    request = apns_request(content, text, IDS, topic=apns_config().topic)
    apns_push = OutgoingPush(
        2,
        ios_token,
        {"headers": request.headers, "payload": request.payload},
        apns_payload_encoded(request)[0],
    )

    [fcm_result] = runtime.send_many(fcm_config(), [fcm_push])
    [apns_result] = runtime.send_many(apns_config(), [apns_push])

    assert (fcm_result.outcome, apns_result.outcome) == (Outcome.SENT, Outcome.SENT)
    [fcm_receipt] = sim_client.receipts(token)
    assert fcm_receipt["message"]["notification"]["body"] == 'Héllo "there"'
    assert fcm_receipt["message"]["data"]['k"ey'] == "X1"
    [apns_receipt] = sim_client.receipts(ios_token)
    assert apns_receipt["message"]["aps"]["alert"] == {"body": 'Héllo "there"', "title": "Sale"}
    assert apns_receipt["message"]['k"ey'] == "X1"

"""The send path's language choice: one per device, from the run's frozen translations."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.delivery.send import deliveries_send
from campaigns.models import CampaignRun, Delivery
from notifications.content import PushContent
from tests.delivery_fixtures import assert_counters_match, run_create

pytestmark = pytest.mark.django_db

DEFAULT = PushContent(title="Sale", message="Hi {{lead.First Name:default=there}}")


def _translation(message: str, title: str = "") -> dict[str, str]:
    return {"title": title, "subtitle": "", "message": message, "image_url": "", "tap_uri": ""}


def _localized_run(push_app, devices, translations):  # noqa: ANN001, ANN202
    run = run_create(app=push_app, devices=devices, content=DEFAULT)
    CampaignRun.objects.filter(pk=run.pk).update(
        content={**DEFAULT.to_dict(), "translations": translations}
    )
    run.refresh_from_db()
    return run


def _send_all(run: CampaignRun):  # noqa: ANN202
    ids = list(run.deliveries.values_list("id", flat=True))
    return deliveries_send(run_id=run.id, first_id=min(ids), last_id=max(ids))


def _bodies(scripted_transport) -> dict[str, str]:  # noqa: ANN001
    out = {}
    for push in scripted_transport.sent:
        body = push.body
        alert = body["payload"]["aps"]["alert"] if "payload" in body else body["notification"]
        out[push.token] = alert["body"]
    return out


def test_each_device_is_rendered_in_its_language(
    addon_on, push_app, make_devices, scripted_transport
):
    fr_ca = make_devices(1, locale="fr-ca", lead__first_name="Luc")[0]
    fr_be = make_devices(1, platform="ios", locale="fr_BE", lead__first_name="Zoé")[0]
    pt = make_devices(1, locale="pt_BR", lead__first_name="Ana")[0]
    blank = make_devices(1, locale="", lead__first_name="")[0]
    run = _localized_run(
        push_app,
        [fr_ca, fr_be, pt, blank],
        {
            "fr": _translation("Bonjour {{lead.First Name:default=toi}}", "Soldes"),
            "fr_CA": _translation("Allô {{lead.First Name:default=toi}}"),
        },
    )

    _send_all(run)

    assert _bodies(scripted_transport) == {
        fr_ca.push_token: "Allô Luc",
        fr_be.push_token: "Bonjour Zoé",
        pt.push_token: "Hi Ana",
        blank.push_token: "Hi there",
    }


def test_a_broken_translation_fails_only_its_own_devices(
    addon_on, push_app, make_devices, scripted_transport
):
    german = make_devices(2, locale="de_DE")
    english = make_devices(2, locale="en_US")
    run = _localized_run(push_app, german + english, {"de": _translation("Hallo {{lead.")})

    _send_all(run)

    statuses = dict(run.deliveries.values_list("device_id", "status"))
    assert {statuses[d.id] for d in german} == {Delivery.Status.FAILED}
    assert {statuses[d.id] for d in english} == {Delivery.Status.SENT}
    reasons = set(run.deliveries.filter(status="failed").values_list("reason", flat=True))
    assert len(reasons) == 1 and reasons.pop().startswith("personalization:")
    assert_counters_match(run)


@pytest.mark.parametrize("size", [8, 64])
def test_languages_add_no_queries(addon_on, push_app, make_devices, scripted_transport, size):
    # Translations travel in the run's frozen content: a chunk of devices in eight languages
    # costs the same statements as a chunk without translations, whatever its size.
    locales = ["fr_FR", "fr_CA", "de_DE", "ja_JP", "es_ES", "it-IT", "nl", ""]
    devices = [
        device for locale in locales for device in make_devices(size // len(locales), locale=locale)
    ]
    translations = {
        code: _translation(f"{code} {{{{lead.First Name:default=x}}}}")
        for code in ("fr", "fr_CA", "de", "es", "it", "nl")
    }
    plain = run_create(app=push_app, devices=make_devices(size), content=DEFAULT)
    localized = _localized_run(push_app, devices, translations)

    with CaptureQueriesContext(connection) as plain_queries:
        _send_all(plain)
    with CaptureQueriesContext(connection) as localized_queries:
        _send_all(localized)

    assert len(localized_queries) == len(plain_queries)
    bodies = _bodies(scripted_transport)
    assert len(bodies) == 2 * size
    assert sum(body.startswith("fr_CA ") for body in bodies.values()) == size // len(locales)


def test_an_ab_variant_is_sent_in_each_device_language(
    addon_on, push_app, make_devices, scripted_transport
):
    """The two choices compose: the row's A/B variant picks the push, the device's locale the
    language of that push."""
    fr_a = make_devices(1, locale="fr_FR")[0]
    en_a = make_devices(1, locale="en_US")[0]
    fr_b = make_devices(1, platform="ios", locale="fr_CA")[0]
    run = run_create(app=push_app, devices=[fr_a, en_a, fr_b], content=DEFAULT)

    def arm(message: str, french: str) -> dict:
        content = PushContent(title="Offer", message=message).to_dict()
        return {
            "notification_id": run.notification_id,
            "content": {**content, "translations": {"fr": _translation(french)}},
        }

    CampaignRun.objects.filter(pk=run.pk).update(
        variants={"A": arm("Offer A", "Offre A"), "B": arm("Offer B", "Offre B")}
    )
    Delivery.objects.filter(run=run).update(variant="A")
    Delivery.objects.filter(run=run, device=fr_b).update(variant="B")
    run.refresh_from_db()

    _send_all(run)

    assert _bodies(scripted_transport) == {
        fr_a.push_token: "Offre A",
        en_a.push_token: "Offer A",
        fr_b.push_token: "Offre B",
    }

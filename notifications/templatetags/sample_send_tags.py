"""Lets `notifications/_sample_send.html` load its test devices itself, so the composer and
the push's page only `{% include %}` it with `notification` in the context."""

from __future__ import annotations

from django import template

from devices.models import Device
from devices.services.test_devices import test_devices_of
from notifications.models import PushNotification

register = template.Library()


@register.simple_tag
def sample_test_devices(notification: PushNotification) -> list[Device]:
    return list(test_devices_of(notification.app_id))

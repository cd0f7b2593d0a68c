from __future__ import annotations

import pytest

from pushmarketing.core.addons import addon_set_enabled, mobile_push_enabled
from pushmarketing.core.models import AuditEntry


@pytest.mark.django_db
def test_addon_starts_off_and_toggle_is_audited(admin_user):
    assert mobile_push_enabled() is False
    addon_set_enabled(enabled=True, actor=admin_user)
    assert mobile_push_enabled() is True
    entry = AuditEntry.objects.get()
    assert entry.action == "addon.enabled"
    assert entry.actor == admin_user


@pytest.mark.django_db
def test_setting_the_same_state_twice_writes_one_audit_entry(admin_user):
    addon_set_enabled(enabled=True, actor=admin_user)
    addon_set_enabled(enabled=True, actor=admin_user)
    assert AuditEntry.objects.count() == 1

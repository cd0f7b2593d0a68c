"""What the device registry asks about trigger campaigns: which activity kinds an app's active
trigger campaigns listen for, as a query and as SQL for the PostgreSQL register statement.
Registered as devices hooks in CampaignsConfig.ready(); devices.trigger_listeners caches the
answer."""

from __future__ import annotations

from campaigns.models import Campaign


def trigger_kinds_listened(app_id: int) -> set[str]:
    triggers = Campaign.objects.filter(
        app_id=app_id, kind=Campaign.Kind.TRIGGER, status=Campaign.Status.ACTIVE
    ).values_list("trigger", flat=True)
    return {t.get("event") for t in triggers if t and t.get("event")}


def listens_sql(kind_column: str) -> str:
    """PostgreSQL: true when an active trigger campaign of the app (the one `%s`) listens for
    the activity kind in `kind_column` — the question trigger_kinds_listened answers."""
    table = Campaign._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {table} c WHERE c.app_id = %s AND c.kind = 'trigger' "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"AND c.status = 'active' AND c.trigger ->> 'event' = {kind_column})"
    )

"""Campaign writes, one module per job: `editing` (create, edit), `actions` (the lifecycle a
marketer drives), `api_send` (management API sends), `retention` (the daily purge of old delivery rows). Views, the API and tasks import the
functions from here."""

from campaigns.rules import CampaignError
from campaigns.services.actions import (
    campaign_activate,
    campaign_cancel,
    campaign_deactivate,
    campaign_pause,
    campaign_resume,
    campaign_send_again,
    campaign_start,
    campaigns_due_start,
)
from campaigns.services.api_send import IdempotencyKeyConflict, campaign_api_trigger
from campaigns.services.editing import campaign_create, campaign_update
from campaigns.services.retention import deliveries_purge

__all__ = [
    "CampaignError",
    "IdempotencyKeyConflict",
    "campaign_activate",
    "campaign_api_trigger",
    "campaign_cancel",
    "campaign_create",
    "campaign_deactivate",
    "campaign_pause",
    "campaign_resume",
    "campaign_send_again",
    "campaign_start",
    "campaign_update",
    "deliveries_purge",
    "campaigns_due_start",
]

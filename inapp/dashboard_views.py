"""The in-app campaign dashboard and its CSV export: thin views over inapp.dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from inapp.dashboard import inapp_campaign_dashboard, inapp_campaign_events_csv
from inapp.models import InAppCampaign
from inapp.views import VIEWERS, inapp_addon_required
from pushmarketing.core.ui import role_required


@require_GET
@inapp_addon_required
@role_required(*VIEWERS)
def campaign_dashboard(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(
        InAppCampaign.objects.select_related("app", "message"), pk=campaign_id
    )
    return render(
        request,
        "inapp/dashboard.html",
        {"campaign": campaign, **inapp_campaign_dashboard(campaign=campaign)},
    )


@require_GET
@inapp_addon_required
# pushmarketing.core.ui.View should be Callable[..., HttpResponseBase] (it streams), as
# campaigns.reports.views.run_export notes.
@role_required(*VIEWERS)  # type: ignore[arg-type]
def campaign_events_export(request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(InAppCampaign, pk=campaign_id)
    response = StreamingHttpResponse(
        inapp_campaign_events_csv(campaign=campaign), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="inapp-campaign-{campaign.pk}.csv"'
    return response

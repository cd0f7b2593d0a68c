"""Send again, as a marketer does it in the browser, with a real worker and the simulator.

The campaign runs to completion from its page; "Send again" opens a second run that sends
to the audience again. During both runs the test samples, every 200 ms, the status the
campaign page shows, GET /api/v1/campaigns/{id} and the run dashboard's data endpoint: they
read one stored status, so they never disagree for more than one sample (a sample's three
requests may straddle a commit). The dashboards, left open and never reloaded by the test,
show the final figures (unique leads, sends over time) once their run finishes."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from campaigns.models import Campaign, CampaignRun
from notifications.simulator import client as sim_client
from pushmarketing.core.api_tokens import api_token_create
from pushmarketing.core.models import AddOn
from tests.api_fixtures import clear_throttle_counts
from tests.campaign_fixtures import approve
from tests.delivery_fixtures import apns_token, simulator_app
from tests.factories import DeviceFactory, PushNotificationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEVICES = 16  # one lead each
THROTTLE_PER_MINUTE = 240  # 4 a second: each run sends for ~4 s, long enough to sample
SAMPLE_SECONDS = 0.2
RUN_TIMEOUT = 60
FIGURES_TIMEOUT = 30
# What the run dashboard may show while the campaign shows a status (and vice versa).
RUN_STATUSES_FOR = {
    "running": {"resolving", "sending"},
    "completed": {"completed"},
    "paused": {"paused"},
    "cancelled": {"cancelled"},
}
STATUS_ON_PAGE = re.compile(r'id="campaign-status"[^>]*data-status="([a-z_]+)"')


@dataclass
class Sample:
    at: float
    page: str | None
    api: str | None
    run_id: int | None
    dashboard: str | None

    def agrees(self) -> bool:
        if self.page != self.api:
            return False
        if self.run_id is None:
            return self.api in ("draft", "scheduled")
        return self.dashboard in RUN_STATUSES_FOR.get(self.api or "", set())

    def __str__(self) -> str:
        return (
            f"t={self.at:5.1f}s page={self.page} api={self.api} "
            f"dashboard(run {self.run_id})={self.dashboard}"
        )


class Sampler:
    """Reads the three views over HTTP, through the live server, as their users do."""

    def __init__(self, *, page: Any, base: str, campaign: Campaign, token: str) -> None:
        self.request = page.request  # the logged-in browser context's cookies
        self.base = base
        self.campaign = campaign
        self.auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.samples: list[Sample] = []
        self.started = time.monotonic()
        # Called with (campaign status per the API, newest run id) before the dashboard's
        # data endpoint is read: lets the test open a dashboard the moment a run ends, before
        # anything has asked for that run's final report.
        self.before_dashboard: Callable[[str | None, int | None], None] | None = None

    def _get(self, path: str, **kwargs: Any) -> Any:
        response = self.request.get(f"{self.base}{path}", **kwargs)
        assert response.ok, f"GET {path}: {response.status} {response.text()[:300]}"
        return response

    def sample(self) -> Sample:
        pk = self.campaign.pk
        html = self._get(f"/campaigns/{pk}/").text()
        found = STATUS_ON_PAGE.search(html)
        page_status = found.group(1) if found else None
        api_status = self._get(f"/api/v1/campaigns/{pk}", headers=self.auth).json()["status"]
        run_id = (
            CampaignRun.objects.filter(campaign_id=pk, kind="batch")
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
            .first()
        )
        if self.before_dashboard is not None:
            self.before_dashboard(api_status, run_id)
        dashboard = None
        if run_id is not None:
            dashboard = self._get(f"/campaigns/runs/{run_id}/progress.json").json()["status"]
        sample = Sample(time.monotonic() - self.started, page_status, api_status, run_id, dashboard)
        self.samples.append(sample)
        return sample

    def until(self, done: Any, *, what: str, timeout: float = RUN_TIMEOUT) -> Sample:
        deadline = time.monotonic() + timeout
        while True:
            tick = time.monotonic()
            sample = self.sample()
            if done(sample):
                return sample
            if tick > deadline:
                raise AssertionError(f"{what} not seen within {timeout} s:\n{self.history(20)}")
            time.sleep(max(0.0, SAMPLE_SECONDS - (time.monotonic() - tick)))

    def assert_never_disagree_for_long(self) -> None:
        streak, worst = 0, 0
        for sample in self.samples:
            streak = 0 if sample.agrees() else streak + 1
            worst = max(worst, streak)
        assert worst <= 1, (
            f"the campaign page, the API and the dashboard disagreed for {worst} consecutive "
            f"samples ({SAMPLE_SECONDS * 1000:.0f} ms apart):\n{self.history()}"
        )

    def history(self, last: int = 60) -> str:
        lines = [f"{'  ' if s.agrees() else '≠ '}{s}" for s in self.samples[-last:]]
        return "\n".join(lines)


def _receipts() -> Counter:
    return Counter(r["token"] for r in sim_client.receipts(limit=1000))


def _wait_for_final_figures(dashboard: Any, *, leads: int, run_id: int) -> None:
    """The dashboard page left open shows the run's final report without the test reloading
    it (the page may refresh itself)."""
    deadline = time.monotonic() + FIGURES_TIMEOUT
    text, sends = "", ""
    while time.monotonic() < deadline:
        try:
            text = dashboard.inner_text("body")
            card = dashboard.locator(".card").filter(
                has=dashboard.get_by_role("heading", name="Sends over time")
            )
            sends = card.inner_text()
            charts = card.locator(".chart canvas").count()
        except Exception:  # noqa: BLE001 - the page is reloading itself: look again
            dashboard.wait_for_timeout(300)
            continue
        if f"{leads} unique leads" in text and "no data yet" not in sends and charts:
            return
        dashboard.wait_for_timeout(500)
    unique = re.search(r"\d+ unique leads", text)
    raise AssertionError(
        f"run {run_id}'s dashboard, left open, never showed its final figures within "
        f"{FIGURES_TIMEOUT} s: expected '{leads} unique leads' and a 'Sends over time' chart; "
        f"it shows '{unique.group(0) if unique else 'no unique leads'}' and "
        f"'{' '.join(sends.split())[:80]}'"
    )


def test_send_again_from_the_campaign_page_sends_a_second_run_and_every_view_agrees(
    page, login, live_site, push_simulator, celery_worker
):
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    clear_throttle_counts()
    app = simulator_app(push_simulator)
    push = approve(PushNotificationFactory(app=app, name="Spring sale push"))
    tokens = []
    for n in range(DEVICES):
        if n % 2:
            device = DeviceFactory(app=app, platform="ios", push_token=apns_token("a0a0", n))
        else:
            device = DeviceFactory(app=app, platform="android", push_token=f"ok-again-{n}")
        tokens.append(device.push_token)
    marketer = UserFactory(role="marketer")
    campaign = Campaign.objects.create(
        name="Spring sale",
        kind=Campaign.Kind.BATCH,
        app=app,
        notification=push,
        throttle_per_minute=THROTTLE_PER_MINUTE,
        # Every time: a lead qualifies again on the second run (with "once", the default, a
        # second run of the same audience rightly sends nothing).
        qualification=Campaign.Qualification.EVERY_TIME,
        created_by=marketer,
    )
    _, token = api_token_create(user=marketer, name="send-again test")
    page.on("dialog", lambda dialog: dialog.accept())  # a confirm() before sending, if any
    login(page, marketer)
    sampler = Sampler(page=page, base=live_site.url, campaign=campaign, token=token)
    detail = f"{live_site.url}/campaigns/{campaign.pk}/"

    # Run 1: "Send now" on the campaign page.
    page.goto(detail)
    page.get_by_role("button", name="Send now").click()
    page.wait_for_load_state("networkidle")
    first = sampler.until(lambda s: s.run_id is not None, what="the first run").run_id
    dashboard_1 = page.context.new_page()
    dashboard_1.goto(f"{live_site.url}/campaigns/runs/{first}/dashboard/")  # open while it sends
    sampler.until(
        lambda s: s.run_id == first and s.agrees() and s.api == "completed",
        what="the first run completing on every view",
    )

    # Run 2: "Send again" on the completed campaign's page.
    page.goto(detail)
    page.get_by_role("button", name="Send again").click()
    page.wait_for_load_state("networkidle")
    second = sampler.until(
        lambda s: s.run_id not in (None, first),
        what="a second run after Send again (today: 'Campaign started.' and nothing happens)",
        timeout=15,
    ).run_id
    # The second run's dashboard is opened the moment the API reports the campaign completed,
    # like a marketer checking the results: before any view has asked for its final report.
    dashboard_2 = page.context.new_page()

    def open_dashboard_when_done(api_status: str | None, run_id: int | None) -> None:
        if api_status == "completed" and run_id == second and dashboard_2.url == "about:blank":
            dashboard_2.goto(f"{live_site.url}/campaigns/runs/{second}/dashboard/")

    sampler.before_dashboard = open_dashboard_when_done
    sampler.until(
        lambda s: s.run_id == second and s.agrees() and s.api == "completed",
        what="the second run completing on every view",
    )
    sampler.before_dashboard = None

    sampler.assert_never_disagree_for_long()
    runs = CampaignRun.objects.filter(campaign=campaign, kind="batch")
    assert runs.count() == 2
    for run in runs:
        assert (run.status, run.total, run.sent_ios + run.sent_android) == (
            "completed",
            DEVICES,
            DEVICES,
        ), f"run {run.pk}: {run.status}, {run.total} rows, {run.sent_ios + run.sent_android} sent"
    assert _receipts() == Counter({token: 2 for token in tokens}), "each device got both pushes"
    _wait_for_final_figures(dashboard_1, leads=DEVICES, run_id=first)
    _wait_for_final_figures(dashboard_2, leads=DEVICES, run_id=second)

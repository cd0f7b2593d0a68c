"""The README's screenshot of an A/B comparison: seed the demo into a throwaway SQLite
database, add a 2,000-device A/B campaign on the demo app (variants A and B at 45 % each, a
10 % control group, B tapped more often), serve it and save the campaign dashboard's
comparison card at 1366 px wide.

    python bench/screenshot_ab.py [--out docs/screenshots]

Reuses bench/screenshots.py's environment, server and PNG reduction; the A/B run is played
through the ledger by tests/abtest_fixtures.py (no worker), as the browser test does."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from screenshots import CHROMIUM_ARGS, ROOT, _configure, _free_port, _serve, _shrink


def _seed() -> int:
    """The A/B campaign's id."""
    from django.core.management import call_command

    from campaigns.models import Campaign
    from tests.abtest_fixtures import ab_campaign, ab_run_sent, seed_leads_with_devices

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    app = Campaign.objects.get(kind=Campaign.Kind.BATCH).app
    seed_leads_with_devices(app=app, devices=2000, prefix="ab-shot")
    campaign = ab_campaign(
        app=app, shares={"A": 45, "B": 45, "C": 10}, controls=("C",), name="Spring sale A/B"
    )
    ab_run_sent(campaign, tap_every={"A": 10, "B": 7})
    return campaign.pk


def _shoot(base: str, campaign_id: int, out: Path) -> Path:
    from playwright.sync_api import sync_playwright

    from pushmarketing.management.commands.seed_demo import DEMO_USERS

    username, password, _role = DEMO_USERS[0]
    target = out / "ab-comparison-1366.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("PM_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/campaigns/{campaign_id}/dashboard/")
        page.locator("#ab-comparison").screenshot(path=str(target))
        browser.close()
    _shrink(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="pm-screenshot-ab-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        env = _configure(var_dir)
        campaign_id = _seed()
        port = _free_port()
        server = _serve(env, port)
        saved = _shoot(f"http://127.0.0.1:{port}", campaign_id, args.out)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"{saved}  {saved.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()

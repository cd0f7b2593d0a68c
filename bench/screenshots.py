"""Screenshots of the main pages for the README: seed the demo into a throwaway SQLite database,
serve it (with the push simulator), log in as the demo admin and save each page at 1366×768
and 390×844, plus the phone layout's open menu.

    python bench/screenshots.py [--out docs/screenshots] [--max-height 1800]

Needs Chromium at /usr/bin/chromium (or $PM_CHROMIUM). Everything the run writes (database,
broker, simulator keys) goes to a temporary directory that is removed afterwards. The PNGs are
reduced to a 256-colour palette: UI screenshots lose nothing visible and shrink ~4×."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = ((1366, 768), (390, 844))
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-sync"]


def _configure(var_dir: Path) -> dict[str, str]:
    """The environment of this process and of the server: DEBUG, SQLite and the filesystem
    broker under `var_dir` (DATABASE_URL / REDIS_URL from the shell are ignored)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DEBUG="1",
        PM_VAR_DIR=str(var_dir),
        # The simulator on free ports: the health page reports it, and a `make run` elsewhere
        # on this machine keeps its own.
        PUSH_SIMULATOR_FCM_PORT=str(_free_port()),
        PUSH_SIMULATOR_APNS_PORT=str(_free_port()),
        DJANGO_SETTINGS_MODULE="pushmarketing.settings",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    return env


def _seed() -> dict[str, int]:
    """`seed_demo`, plus one finished run of the batch campaign so its dashboard has figures:
    the demo's devices sent, two tapped, the stale token invalid."""
    from django.core.management import call_command
    from django.utils import timezone

    from campaigns.ledger.feedback import delivery_feedback_record
    from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
    from campaigns.ledger.runs import run_open
    from campaigns.models import Campaign, CampaignRun, Delivery
    from campaigns.reports.refresh import run_report_refresh
    from devices.models import Device

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    campaign = Campaign.objects.get(kind=Campaign.Kind.BATCH)
    push = campaign.notification
    started = timezone.now() - timedelta(minutes=3)
    run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.SENDING,
        campaign_id=campaign.pk,
        notification_id=push.pk,
        app_id=campaign.app_id,
        content=push.approved_content,
        now=started,
    )
    devices = list(Device.objects.filter(app_id=campaign.app_id).order_by("pk"))
    rows = [
        NewDelivery(
            device_id=d.pk,
            lead_id=d.lead_id,
            platform=d.platform,
            status="token_invalid" if "stale" in d.installation_id else "sent",
            reason="UNREGISTERED" if "stale" in d.installation_id else "",
        )
        for d in devices
    ]
    written = deliveries_insert_returning(run_id=run.pk, rows=rows, now=started)
    for index, device in enumerate(devices):
        if "stale" in device.installation_id:
            continue
        sent = started + timedelta(seconds=2 * index)
        tapped = sent + timedelta(seconds=40) if index % 3 == 0 else None
        Delivery.objects.filter(pk=written[device.pk]).update(sent_at=sent)
        if tapped is not None:  # through the ledger: a tap also proves receipt
            delivery_feedback_record(
                delivery_id=written[device.pk],
                run_id=run.pk,
                platform=device.platform,
                tapped=True,
                occurred_at=tapped,
            )
    CampaignRun.objects.filter(pk=run.pk).update(
        status=CampaignRun.Status.COMPLETED, finished_at=started + timedelta(seconds=30)
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    run_report_refresh(run_id=run.pk)
    return {"campaign": campaign.pk, "run": run.pk, "push": push.pk}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(env: dict[str, str], *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = _start(env, "runserver", f"127.0.0.1:{port}", "--noreload")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("the server did not start within 30 s")


def _pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    return [
        ("overview", "/"),
        ("pushes", "/notifications/"),
        ("composer", f"/notifications/{ids['push']}/edit/"),
        ("campaigns", "/campaigns/"),
        ("campaign", f"/campaigns/{ids['campaign']}/"),
        ("dashboard", f"/campaigns/runs/{ids['run']}/dashboard/"),
        ("leads", "/leads/"),
        ("devices", "/devices/"),
        ("apps", "/apps/"),
        ("settings", "/settings/"),
        ("health", "/system/health/"),
    ]


def _shrink(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


def _shoot(base: str, pages: list[tuple[str, str]], out: Path, max_height: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from pushmarketing.management.commands.seed_demo import DEMO_USERS

    username, password, _role = DEMO_USERS[0]
    chromium = os.environ.get("PM_CHROMIUM", "/usr/bin/chromium")
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for width, height in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            for name, path in pages:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)  # the composer's first preview, the charts
                full: Any = page.evaluate("document.documentElement.scrollHeight")
                clip = {"x": 0, "y": 0, "width": width, "height": min(int(full), max_height)}
                target = out / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True, clip=clip)
                _shrink(target)
                saved.append(target)
            if width < 900:  # the phone layout's menu, open
                page.goto(base + "/campaigns/")
                page.get_by_role("button", name="Menu").click()
                target = out / f"menu-{width}.png"
                page.screenshot(path=str(target))
                _shrink(target)
                saved.append(target)
            context.close()
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--max-height", type=int, default=1800)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="pm-screenshots-"))
    children: list[subprocess.Popen[bytes]] = []
    try:
        env = _configure(var_dir)
        ids = _seed()
        port = _free_port()
        children.append(_start(env, "push_simulator"))
        children.append(_serve(env, port))
        saved = _shoot(f"http://127.0.0.1:{port}", _pages(ids), args.out, args.max_height)
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=10)
        shutil.rmtree(var_dir, ignore_errors=True)
    total = sum(p.stat().st_size for p in saved)
    for path in saved:
        print(f"{path}  {path.stat().st_size // 1024} KB")
    print(f"{len(saved)} screenshots, {total / 1_000_000:.2f} MB")


if __name__ == "__main__":
    main()

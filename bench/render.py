"""Render one compiled notification for 100,000 leads and print the time (target < 1 s).

    DEBUG=1 python bench/render.py [--leads N]

No database: lead token values are built in memory (as the fan-out gets them from one
values() query); the figure is personalisation only — compile once, render per lead."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from devices.lead_fields import STANDARD_LEAD_FIELDS  # noqa: E402
from notifications.content import PushContent  # noqa: E402
from notifications.personalization import compile_content  # noqa: E402

CONTENT = PushContent(
    title="{{lead.First Name:default=Hey}}, spring is here",
    subtitle="Offers in {{lead.City:default=your city}}",
    message=(
        "Hi {{lead.First Name:default=there}} {{lead.Last Name:default=}}, 20% off everything at "
        "{{lead.Company Name:default=our store}} until Sunday. Your tier: "
        "{{lead.Loyalty Tier:default=member}}."
    ),
    tap_action="deep_link",
    tap_uri="shop://offers/{{lead.Country:default=all}}?who={{lead.Email Address:default=anon}}",
)


def lead_values(count: int) -> list[dict[str, str]]:
    return [
        {
            "Email Address": f"lead{i}@example.com",
            "First Name": f"First{i}" if i % 7 else "",  # every 7th lead falls back to the default
            "Last Name": "Lee",
            "Company Name": "Acme",
            "City": "Lyon",
            "Country": "FR",
            "Loyalty Tier": "gold" if i % 3 else "",
        }
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args()
    known = [*STANDARD_LEAD_FIELDS, "Loyalty Tier"]
    started = time.perf_counter()
    compiled = compile_content(CONTENT, known_fields=known)
    compile_seconds = time.perf_counter() - started
    values = lead_values(args.leads)
    started = time.perf_counter()
    rendered = [compiled.render(v) for v in values]
    seconds = time.perf_counter() - started
    assert (
        rendered[1].body.startswith("Hi First1 Lee") and rendered[0].title == "Hey, spring is here"
    )
    print(f"tokens per notification: {len(compiled.tokens)}")
    print(f"compile: {compile_seconds * 1000:.2f} ms (once per notification)")
    print(
        f"render: {args.leads:,} leads in {seconds:.3f} s "
        f"({seconds / args.leads * 1e6:.2f} µs per lead) — target < 1 s: "
        f"{'OK' if seconds < 1 or args.leads < 100_000 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()

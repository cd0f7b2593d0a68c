"""Production's settings with the bench's URL conf (bench/ceiling.py): the ceiling endpoint
next to every production URL, for bench/register.py's gunicorn only."""

from __future__ import annotations

from pushmarketing.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ceiling"

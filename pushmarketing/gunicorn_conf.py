"""gunicorn's settings in production (docker-compose.yml, the Dockerfile) and in
bench/register.py: `gunicorn -c python:pushmarketing.gunicorn_conf pushmarketing.wsgi`.

Sync workers, one per CPU core (WEB_CONCURRENCY overrides). Measured with bench/register.py
on 2 cores shared with PostgreSQL and the load generator, 8 connections:
- sync, 2 workers: 1,060-1,110 registrations/s, p99 11-14 ms;
- sync, 3-4 workers: 1,070-1,170/s, p99 28-230 ms (more runnable processes than cores);
- gthread, 2 workers x 2-4 threads: 1,160-1,215/s, p99 90-160 ms (threads queue for the
  GIL, and keep-alive pins each client to one worker however busy it is).
A sync worker is held for the whole of a request, so it must sit behind a proxy that buffers
slow clients: docker-compose.yml puts nginx in front (pushmarketing/deploy/nginx.conf).
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = "sync"
timeout = 30
# Workers touch a heartbeat file between requests; on a disk that is also taking the
# database's fsyncs that touch can block, so keep it in memory (gunicorn's own advice).
worker_tmp_dir = "/dev/shm"  # noqa: S108 - gunicorn's advised in-memory heartbeat dir
# nginx logs each request; GUNICORN_ACCESS_LOG=- logs them here as well.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None

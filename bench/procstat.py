"""CPU time of processes, read from /proc (Linux): what the benches report per component."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgrp: int
    comm: str
    cpu_seconds: float  # user + system so far
    reaped_cpu_seconds: float  # of its children that exited and were waited for


def processes() -> Iterator[Proc]:
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # exited since the listing
        fields = tail.split()
        yield Proc(
            pid=int(stat.parent.name),
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            comm=head.split("(", 1)[1],
            cpu_seconds=(int(fields[11]) + int(fields[12])) / ticks,  # utime, stime
            reaped_cpu_seconds=(int(fields[13]) + int(fields[14])) / ticks,  # cutime, cstime
        )


def children_cpu_seconds(parent_pid: int) -> float:
    """A master's worker processes (gunicorn's), not the master itself."""
    return sum(p.cpu_seconds for p in processes() if p.ppid == parent_pid)


def process_cpu_seconds(pid: int) -> float:
    """One process (the push simulator)."""
    return sum(p.cpu_seconds for p in processes() if p.pid == pid)


def group_cpu_seconds(pgid: int) -> float:
    """Every process of a process group (a Celery worker started in its own session)."""
    return sum(p.cpu_seconds for p in processes() if p.pgrp == pgid)


def postgres_cpu_seconds() -> float:
    """Every PostgreSQL server process on the machine (its backends do a statement's work),
    with the backends that exited meanwhile: the postmaster reaps them, so their CPU time is
    in its children's total."""
    return sum(
        p.cpu_seconds + p.reaped_cpu_seconds for p in processes() if p.comm.startswith("postgres")
    )

from __future__ import annotations

import os
import uuid

from notifications.transports.apns_ids import apns_id_next


def test_apns_ids_are_distinct_version_4_uuids():
    ids = [apns_id_next() for _ in range(1000)]

    assert len(set(ids)) == len(ids)
    for value in ids[:3] + ids[-3:]:
        parsed = uuid.UUID(value)
        assert str(parsed) == value  # canonical form: lower-case 8-4-4-4-12
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_worker_draws_its_own_prefix():
    before = apns_id_next()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a prefork worker
        os.write(write, apns_id_next().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    os.close(write)

    assert child[:24] != before[:24]
    assert apns_id_next()[:24] == before[:24]

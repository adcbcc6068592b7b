"""``python -m elektra_web``: the same as the ``elektra-web`` command."""

import sys

from .cli import main

sys.exit(main())

"""``python -m elektra_web.elektrad``: the same as ``elektra-web elektrad``."""

import sys

from ..cli import main

sys.exit(main(["elektrad", *sys.argv[1:]]))

"""``python -m izzyviz.cli``: the ``izzyviz`` command."""

import sys

from izzyviz.cli import main

sys.exit(main())

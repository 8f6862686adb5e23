"""Children the tests stop with SIGINT, as Ctrl-C would."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn`` for a child a test stops with SIGINT: SIGINT's default action back. A
    shell without job control starts a background job with SIGINT ignored, the child inherits
    that, and Python then installs no ``KeyboardInterrupt`` handler: the child never stops."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

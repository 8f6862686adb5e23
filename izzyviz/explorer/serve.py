"""``izzyviz serve``: explore a map too long for one file, its tiles cut on demand.

The matrix stays on disk: a float16 or float32 ``.npy`` file opened as a memmap. At start the
server reads it once for the figure's range and top cells and once for the coarse levels of the
tile pyramid (see :mod:`.pyramid`); finer tiles are cut from the rows they cover when the page
asks for them, and those pages are handed back to the OS. Tiles made are kept in a cache of
``cache_bytes``, so memory stays bounded whatever the file's size.

The page is the same as a file's (:mod:`.page`), fetching ``/tile/LEVEL/TY/TX.png`` and
``/values/TY/TX.bin`` instead of carrying them. The server is the standard library's
``ThreadingHTTPServer`` bound to a loopback address only (it has no authentication); Ctrl-C
stops it.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

DEFAULT_PORT = 8765  # izzyviz serve --port

if TYPE_CHECKING:
    from izzyviz.explorer.pyramid import Pyramid

__all__ = ["DEFAULT_PORT", "ExplorerServer", "check_address", "open_npy", "serve", "start"]

CACHE_BYTES = 64 * 2**20
_TILE = re.compile(r"/tile/(\d+)/(\d+)/(\d+)\.png")
_VALUES = re.compile(r"/values/(\d+)/(\d+)\.bin")


class TileCache:
    """The tiles made most recently, up to ``limit`` bytes in all; safe across threads."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The tile ``key``, made by ``make()`` when it is not kept."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data = make()
        with self._lock:
            if key not in self._items:
                self._items[key] = data
                self.size += len(data)
            while self.size > self.limit and len(self._items) > 1:
                self.size -= len(self._items.popitem(last=False)[1])
        return data


class ExplorerServer(ThreadingHTTPServer):
    """Serves one map's explorer page and its tiles (see the module's notes)."""

    daemon_threads = True

    def __init__(self, pyramid: Pyramid, address: tuple[str, int], cache_bytes: int) -> None:
        from izzyviz.explorer.page import describe, document

        self.pyramid = pyramid
        self.cache = TileCache(cache_bytes)
        self.page = document(describe(pyramid, base="/"))
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """Where the page is, e.g. ``http://127.0.0.1:8765/``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"

    def tile(self, path: str) -> bytes | None:
        """The bytes of the tile at URL ``path``, or None when there is no such tile."""
        geometry = self.pyramid.geometry
        found = _TILE.fullmatch(path)
        try:
            if found:
                level, ty, tx = (int(g) for g in found.groups())
                geometry.check(level, ty, tx)
                return self.cache.get(path, lambda: self.pyramid.colour_tile(level, ty, tx))
            found = _VALUES.fullmatch(path)
            if found:
                ty, tx = (int(g) for g in found.groups())
                geometry.check(0, ty, tx)
                return self.cache.get(path, lambda: self.pyramid.value_tile(ty, tx))
        except IndexError:
            return None
        return None


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(self.server.page, "text/html; charset=utf-8")
            return
        data = self.server.tile(path)
        if data is None:
            self.send_error(404, "no such page or tile")
        else:
            kind = "image/png" if path.endswith(".png") else "application/octet-stream"
            self._send(data, kind)

    def _send(self, data: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header(
            "Cache-Control", "no-store" if kind.startswith("text/") else "max-age=3600"
        )
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # one line per tile is noise
        return None


def open_npy(path: str | os.PathLike[str], ndim: tuple[int, ...] = (2,)) -> Any:
    """``path``, a ``.npy`` file holding an array of real numbers with ``ndim`` dimensions (a
    2-D matrix), as a read-only memmap."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FILE: {str(path)!r} does not exist or is not a file")
    if path.suffix.lower() != ".npy":
        raise ValueError(
            f"FILE: {str(path)!r} is not a .npy file; izzyviz serve reads a float16 or float32 "
            "matrix saved with numpy.save (izzyviz render reads .npz, .pt and .safetensors)"
        )
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"FILE: cannot read {str(path)!r} as a .npy file ({exc})") from None
    if matrix.ndim not in ndim or matrix.dtype.kind not in "biuf" or 0 in matrix.shape:
        wanted = " or ".join(f"{n}-D" for n in ndim)
        raise ValueError(
            f"FILE: {str(path)!r} holds an array of shape {matrix.shape} and dtype "
            f"{matrix.dtype}; expected a {wanted} array (float16 or float32) of attention scores"
        )
    return matrix


def check_address(host: str, port: int) -> tuple[str, int]:
    """``(host, port)`` checked: a loopback IPv4 address or ``localhost``, a port 0-65535."""
    try:
        loopback = host == "localhost" or ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"host: expected a loopback address such as 127.0.0.1 (the server has no "
            f"authentication, so it listens on this machine only), got {host!r}"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(
            f"port: expected a port number from 0 (any free port) to 65535, got {port!r}"
        )
    return ("127.0.0.1" if host == "localhost" else host), port


def start(
    matrix: Any,
    tokens: Sequence[str] | None = None,
    *,
    query_tokens: Sequence[str] | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    cache_bytes: int = CACHE_BYTES,
    **options: Any,
) -> ExplorerServer:
    """A server for ``matrix`` (a ``.npy`` path, or any matrix :func:`izzyviz.explore` takes),
    bound and ready, not yet serving: call ``serve_forever()`` (or use :func:`serve`).

    ``tokens`` label the columns (default: positions), ``query_tokens`` the rows (default:
    ``tokens``); ``options`` are :func:`izzyviz.heatmap`'s. ``OSError`` names a port in use.
    """
    from izzyviz.explorer.engine import open_matrix, read_heatmap
    from izzyviz.explorer.pyramid import Pyramid

    address = check_address(host, port)
    if isinstance(matrix, (str, os.PathLike)):
        matrix = open_npy(matrix)
    source = open_matrix(matrix)
    rows, cols = (int(n) for n in source.shape)
    x_labels = [str(i) for i in range(cols)] if tokens is None else tokens
    y_labels = query_tokens or (tokens or [str(i) for i in range(rows)])
    pyramid = Pyramid(read_heatmap(source, x_labels, y_labels, **options))
    try:
        return ExplorerServer(pyramid, address, cache_bytes)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise OSError(
            exc.errno,
            f"port: {port} is in use on {address[0]}; choose another with --port "
            "(port=...), or 0 for any free port",
        ) from None


def serve(matrix: Any, tokens: Sequence[str] | None = None, **options: Any) -> None:
    """Serve the explorer of ``matrix`` until Ctrl-C; the arguments are :func:`start`'s
    (``query_tokens``, ``host``, ``port``, ``cache_bytes`` and :func:`izzyviz.heatmap`'s
    options).

    Prints the page's address; Ctrl-C stops the server cleanly and returns.

    Examples
    --------
    >>> from izzyviz.explorer.serve import serve
    >>> serve("attention.npy", tokens, port=8765)  # doctest: +SKIP
    """
    server = start(matrix, tokens, **options)
    rows, cols = server.pyramid.geometry.rows, server.pyramid.geometry.cols
    print(f"IzzyViz: exploring a {rows} x {cols} map at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("IzzyViz: stopped", flush=True)
    finally:
        server.server_close()

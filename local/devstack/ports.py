"""Loopback ports: find free ones, refuse busy ones with a clear message, wait for listeners.

"Busy" means that a socket listens on the port (or holds it exclusively), not that the kernel
still keeps TIME-WAIT sockets of the connections a stopped server closed a moment ago: the
servers the platform starts (uvicorn, the Dagster webserver) bind with ``SO_REUSEADDR`` and
start fine over those, so a restart right after Ctrl-C must not be refused for them.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable

from standins.net import HOST, free_port

__all__ = ["PortInUseError", "ensure_free", "free_port", "port_taken", "wait_for_port"]


class PortInUseError(RuntimeError):
    """A requested 127.0.0.1 port is already taken."""


def port_taken(port: int) -> bool:
    """Whether a socket listens on (or exclusively holds) ``127.0.0.1:port``.

    The probe binds with ``SO_REUSEADDR``, as the servers do: on Linux that bind fails while a
    socket listens on the address (or one holds it without the option) and succeeds over the
    TIME-WAIT leftovers of a server that bound the same way, so the answer is the one the
    server's own bind would get.

    Args:
        port: the TCP port to probe.

    Returns:
        True when a server could not bind the port now.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def ensure_free(port: int, what: str) -> int:
    """Return ``port`` if a server can bind it on 127.0.0.1, else raise naming ``what`` and it.

    Args:
        port: the TCP port the caller is about to hand to a server.
        what: the part of the platform that wants it (it starts the one-line error).

    Returns:
        ``port``.

    Raises:
        PortInUseError: a socket listens on the port.
    """
    if port_taken(port):
        raise PortInUseError(f"{what}: port {HOST}:{port} is already in use")
    return port


def wait_for_port(
    port: int, timeout_s: float = 30.0, alive: Callable[[], bool] | None = None
) -> bool:
    """Wait until something accepts connections on 127.0.0.1:``port``.

    Args:
        port: the TCP port to connect to.
        timeout_s: how long to wait.
        alive: whether the process expected to listen still runs; the wait ends early (False)
            once it says no, instead of waiting out the timeout for a server that died.

    Returns:
        Whether a connection was accepted within the timeout.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((HOST, port)) == 0:
                return True
        if alive is not None and not alive():
            return False
        time.sleep(0.1)
    return False

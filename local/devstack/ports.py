"""Loopback ports: find free ones, and refuse busy ones with a clear message."""

from __future__ import annotations

import socket


class PortInUseError(RuntimeError):
    """A requested 127.0.0.1 port is already taken."""


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int, what: str) -> int:
    """Return ``port`` if it is free on 127.0.0.1, else raise naming ``what`` and the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUseError(f"{what}: port 127.0.0.1:{port} is already in use") from exc
    return port


def wait_for_port(port: int, timeout_s: float = 30.0) -> bool:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False

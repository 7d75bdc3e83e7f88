"""Loopback ports: find free ones, refuse busy ones with a clear message, wait for listeners."""

from __future__ import annotations

import socket
import time

from standins.net import HOST, free_port, port_in_use

__all__ = ["PortInUseError", "ensure_free", "free_port", "wait_for_port"]


class PortInUseError(RuntimeError):
    """A requested 127.0.0.1 port is already taken."""


def ensure_free(port: int, what: str) -> int:
    """Return ``port`` if it is free on 127.0.0.1, else raise naming ``what`` and the port."""
    if port_in_use(port):
        raise PortInUseError(f"{what}: port {HOST}:{port} is already in use")
    return port


def wait_for_port(port: int, timeout_s: float = 30.0) -> bool:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((HOST, port)) == 0:
                return True
        time.sleep(0.1)
    return False

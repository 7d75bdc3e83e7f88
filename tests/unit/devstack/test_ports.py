"""The port check: TIME-WAIT leftovers of a stopped server are free, a listener is not."""

from __future__ import annotations

import errno
import socket
import time
from pathlib import Path

import pytest
from devstack.ports import PortInUseError, ensure_free, port_taken, wait_for_port

HOST = "127.0.0.1"
TIME_WAIT = "06"
"""The TCP state code of TIME-WAIT in /proc/net/tcp."""


def _states(port: int) -> set[str]:
    """TCP states of the IPv4 sockets whose local address is 127.0.0.1:``port``."""
    local = f"0100007F:{port:04X}"
    states = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local:
            states.add(fields[3])
    return states


def _plain_bind_fails(port: int) -> bool:
    """Whether a bind without SO_REUSEADDR (the check's old probe) is refused."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return True
    return False


def _port_left_in_time_wait() -> int:
    """A port whose server stopped after closing a connection first, as a server on Ctrl-C.

    The side that closes first keeps the connection in TIME-WAIT: here the server's side,
    whose local address is the listening port. The listener itself is gone. It bound with
    SO_REUSEADDR, as uvicorn and the Dagster webserver do (its connections inherit that).
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection((HOST, port))
        served, _ = listener.accept()
    served.close()
    assert client.recv(1) == b""  # the server's FIN arrived
    client.close()
    deadline = time.monotonic() + 5
    while TIME_WAIT not in _states(port) and time.monotonic() < deadline:
        time.sleep(0.01)
    return port


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_a_port_whose_only_sockets_are_in_time_wait_is_free() -> None:
    port = _port_left_in_time_wait()
    assert _states(port) == {TIME_WAIT}
    assert _plain_bind_fails(port)  # what refused a restart right after Ctrl-C
    assert not port_taken(port)
    assert ensure_free(port, "Dagster UI") == port
    # ... and a server binding as uvicorn does really starts there.
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((HOST, port))
        server.listen()
        assert wait_for_port(port, 2)


@pytest.mark.parametrize("reuse", [False, True])
@pytest.mark.parametrize("address", [HOST, "0.0.0.0"])
def test_a_listening_port_is_refused_at_once_naming_it(reuse: bool, address: str) -> None:
    with socket.socket() as server:
        if reuse:  # as uvicorn and the Dagster webserver bind
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, 0))
        server.listen()
        port = int(server.getsockname()[1])
        started = time.monotonic()
        assert port_taken(port)
        with pytest.raises(PortInUseError) as refused:
            ensure_free(port, "Dagster UI")
        assert time.monotonic() - started < 1
    assert str(refused.value) == f"Dagster UI: port 127.0.0.1:{port} is already in use"
    assert "\n" not in str(refused.value)


def test_waiting_for_a_server_that_died_ends_early() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = int(sock.getsockname()[1])  # bound, never listening: nothing accepts
        started = time.monotonic()
        assert not wait_for_port(port, 30, alive=lambda: False)
        assert time.monotonic() - started < 2

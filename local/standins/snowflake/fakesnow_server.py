"""Serve a local Snowflake stand-in (fakesnow) for dbt's ``snowflake_local`` target.

``python -m standins.snowflake.fakesnow_server --port 8765 [--db-path DIR]`` serves fakesnow's HTTP app
on 127.0.0.1 until interrupted. Connect with ``account: fakesnow, host: 127.0.0.1,
port: <port>, protocol: http`` and any user/password (dbt_fieldforce/profiles.yml).

Persistence: fakesnow persists only when the *client* sends the ``FAKESNOW_DB_PATH`` session
parameter, which dbt-snowflake cannot, and a per-login instance could not share the files
anyway (DuckDB attaches a file once per process). So with ``--db-path`` (or the
``FAKESNOW_DB_PATH`` environment variable) the server's one shared instance, the one every
login without that parameter uses, is created over that directory: each Snowflake database
is a DuckDB file there and survives restarts. Without it, everything is in memory, shared by
all sessions, for the life of the process.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

app = typer.Typer(help="Serve fakesnow for dbt's snowflake_local target.", add_completion=False)


def configure(db_path: str | None) -> None:
    """Point fakesnow's shared server instance at ``db_path`` (in memory when ``None``)."""
    import fakesnow.server
    from fakesnow.instance import FakeSnow

    if db_path:
        os.makedirs(db_path, exist_ok=True)
        fakesnow.server.shared_fs = FakeSnow(db_path=db_path)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="FAKESNOW_PORT", help="Port to listen on.")] = 8765,
    db_path: Annotated[
        str | None,
        typer.Option(envvar="FAKESNOW_DB_PATH", help="Folder of the databases (else in memory)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "warning",
) -> None:
    """Serve until interrupted."""
    import uvicorn

    configure(db_path)

    import fakesnow.server

    uvicorn.run(fakesnow.server.app, host=host, port=port, log_level=log_level)


def main(argv: list[str] | None = None) -> None:
    """Run the command line (``argv`` for tests; the process's arguments otherwise)."""
    app(args=argv, prog_name="python -m standins.snowflake.fakesnow_server")


if __name__ == "__main__":
    main()

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

import argparse
import os


def configure(db_path: str | None) -> None:
    """Point fakesnow's shared server instance at ``db_path`` (in memory when ``None``)."""
    import fakesnow.server
    from fakesnow.instance import FakeSnow

    if db_path:
        os.makedirs(db_path, exist_ok=True)
        fakesnow.server.shared_fs = FakeSnow(db_path=db_path)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve fakesnow for dbt's snowflake_local target.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FAKESNOW_PORT", "8765")))
    parser.add_argument("--db-path", default=os.environ.get("FAKESNOW_DB_PATH"))
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    configure(args.db_path)

    import fakesnow.server

    uvicorn.run(fakesnow.server.app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()

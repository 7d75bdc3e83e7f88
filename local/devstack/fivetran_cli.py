"""``fieldforce fivetran plan|apply``: the production connector configuration, on the local stack.

Both commands run :func:`analytics_platform.ingest.connectors.cli.run`, the code path
``python -m analytics_platform.ingest.connectors`` takes against a real account. The account is
the running local stack's Fivetran (``$FIELDFORCE_HOME/stack.json``), unless
``FIVETRAN_API_KEY`` and ``FIVETRAN_API_SECRET`` are set: then it is the one they open, at
``FIVETRAN_API_BASE_URL`` (the real Fivetran when unset).
"""

from __future__ import annotations

from analytics_platform.ingest.connectors.cli import command_line, production_account
from analytics_platform.settings import MissingSettingError
from devstack.stack import read_stack


def _account() -> tuple[str, str, str]:
    """(API root, key, secret): the Fivetran variables when set, else the local stack's.

    Raises:
        MissingSettingError: neither a local stack nor the Fivetran variables.
    """
    try:
        return production_account()
    except MissingSettingError:
        pass
    try:
        info = read_stack()
    except FileNotFoundError:
        raise MissingSettingError(
            "no local stack is running (start one with `fieldforce up`) and FIVETRAN_API_KEY /"
            " FIVETRAN_API_SECRET are not set"
        ) from None
    return info["fivetran_api_url"], info["fivetran_api_key"], info["fivetran_api_secret"]


fivetran_app = command_line(
    _account,
    "Connector configuration as code (fivetran.yaml) against the local or a real Fivetran.",
)

"""A real local Fivetran on 127.0.0.1 over a private PostgreSQL, per test.

`stack` starts one PostgreSQL cluster per session; each test gets fresh databases, a fresh
warehouse file and its own service process (`python -m standins.fivetran serve`), so tests
never see each other's data. The initial (historical) sync of every connector has finished
when the fixture hands the stack over.
"""

from testkit.stack import pg_cluster, shared_stack, stack, stack_factory

__all__ = ["pg_cluster", "shared_stack", "stack", "stack_factory"]

from testkit.stack import pg_cluster, stack, stack_factory

__all__ = ["pg_cluster", "stack", "stack_factory"]

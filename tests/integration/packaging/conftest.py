from testkit.stack import pg_cluster, shared_stack

__all__ = ["pg_cluster", "shared_stack"]

"""The FieldForce source estate: PostgreSQL, a seeded generator of six systems, a change stream.

The public entry point is :class:`sandbox.sources.estate.Estate`; the table contract lives in
:mod:`sandbox.sources.catalog`.
"""

from sandbox.sources.errors import EstateError

__all__ = ["EstateError"]

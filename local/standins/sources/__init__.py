"""The FieldForce source estate: PostgreSQL, a seeded generator of six systems, a change stream.

The public entry point is :class:`standins.sources.estate.Estate`; the table contract lives in
:mod:`standins.sources.catalog`.
"""

from standins.sources.errors import EstateError

__all__ = ["EstateError"]

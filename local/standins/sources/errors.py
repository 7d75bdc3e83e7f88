"""The one exception the source estate raises for problems a user can fix."""


class EstateError(Exception):
    """A one-line, user-facing problem with the source estate: what went wrong and where.

    The CLI prints the message as is, so it always names the offending value, path, port or
    binary and, where there is one, the fix.
    """

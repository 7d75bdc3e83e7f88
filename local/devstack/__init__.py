"""The dev stack: the ``fieldforce`` command line, the launcher and its process supervisor."""

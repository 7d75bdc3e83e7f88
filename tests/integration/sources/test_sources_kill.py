"""A change stream killed (``kill -9``) in the middle of a step resumes to the same data.

Each step writes every database in one two-phase transaction (``changes.apply_step``). The
two dangerous moments are killed for real, in a child process that advances the estate:
after every database is prepared but before the state is saved (the step must be rolled back
and replayed), and after the state is saved with only one database committed (the rest must be
committed, not replayed). The estate must then advance on to the same checksums as the estate
that was never interrupted.
"""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
from standins.sources.estate import Estate

from tests.integration.sources.conftest import ADVANCE_MINUTES, NOW, SCALE, Generated

CHILD = """
import os, signal, sys
import psycopg
from standins.sources.estate import Estate
from standins.sources.state import EstateState

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

estate = Estate(sys.argv[1]).start()
if sys.argv[2] == "before-save":
    EstateState.save = die
else:
    commit = psycopg.Connection.tpc_commit
    committed = []
    def commit_one_then_die(self, *args, **kwargs):
        if committed:
            die()
        committed.append(self)
        return commit(self, *args, **kwargs)
    psycopg.Connection.tpc_commit = commit_one_then_die
estate.advance(10)
"""


def _killed_child(home: Path, point: str) -> int:
    """Advance ``home`` in a child process that kills itself at ``point``; its return code."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), point], capture_output=True, text=True
    )
    return child.returncode


def _prepared(estate: Estate) -> int:
    assert estate.cluster is not None
    with psycopg.connect(estate.cluster.dsn("postgres")) as conn:
        row = conn.execute("select count(*) from pg_prepared_xacts").fetchone()
    assert row is not None
    return int(row[0])


def test_a_step_killed_at_either_moment_resumes_to_the_uninterrupted_data(
    base_dir: Path, generated: Generated
) -> None:
    with Estate(base_dir / "killed", seed=42, scale=SCALE) as estate:
        estate.generate(now=NOW)

        assert _killed_child(estate.paths.home, "before-save") == -9
        assert estate.clock == NOW, "a step killed before its state was saved counted as applied"
        assert _prepared(estate) > 0, "the kill did not land between prepare and save"

        # The next advance rolls the first step back, replays it, saves, then dies having
        # committed one database of it.
        assert _killed_child(estate.paths.home, "after-save") == -9
        assert estate.clock == NOW + timedelta(minutes=5)
        assert _prepared(estate) > 0, "the kill did not land between save and commit"

        estate.advance(ADVANCE_MINUTES - 5)
        assert _prepared(estate) == 0
        assert estate.clock == NOW + timedelta(minutes=ADVANCE_MINUTES)
        assert estate.checksums() == generated.checksums_advanced

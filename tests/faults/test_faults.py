"""Every note exactly once while things break: real worker and beat processes, private Redis and PostgreSQL.

Each scenario fans a transition out to 400 linked conversations through the real pipeline while a fault hits
it (tests/faults/scenarios.py runs it in a child process); the Intercom simulator's ledger is the judge.
"""

import pytest

from tests.faults.scenarios import SCENARIOS, run

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_note_arrives_exactly_once(scenario):
    result = run(scenario)
    assert result["lost"] == 0, result
    assert result["duplicates"] == 0, result
    assert result["statuses"] == {"sent": result["conversations"]}, result
    assert result["max_calls_per_window"] <= result["limit_per_10s"], result

"""Contract-true simulators of Jira and Intercom for tests, benchmarks and `make demo`.

- `sandbox.intercom.IntercomSimulator` and `sandbox.jira.JiraSimulator` (real HTTP servers on loopback,
  `with Sim() as sim: sim.url`), both validating requests against the stored OpenAPI specs
  (`sandbox.contracts`); `python -m sandbox intercom|jira --port N` runs one as a process, driven through
  its `/_sim/...` control plane (`sandbox.server.SimControl`).

Plain library code: nothing here imports Django or the connector.
"""

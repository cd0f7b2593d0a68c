"""The ledger: the only writer of runs, delivery rows and run counters.

- `runs`: open a run, move it through the state table, settle (complete) it when drained.
- `counters`: the counter table built from the model, and the one way to add to it.
- `inserts`: delivery rows from an audience (INSERT … SELECT), from trigger fires, for samples.
- `planning`: caps and send times of freshly inserted rows.
- `claim` / `record`: a send task's rows `queued → sending → outcome`.
- `recovery`: rows a dead worker left `sending`; a cancelled run's queued rows.
- `feedback`: receipts and taps reported by the SDK.

Every function that makes a row terminal calls `runs.run_settle` in the same transaction,
except `record.deliveries_record_results`, which writes a chunk's answers while others are still
in flight (so the run cannot have drained); a chunk's last answer always goes through
`record.deliveries_record_chunk_end`, which settles. So the transaction that records a run's
last delivery is the one that completes it.
"""

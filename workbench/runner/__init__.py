"""The runner: one OS process per run (worker), started by the launcher, queued by sweeps."""

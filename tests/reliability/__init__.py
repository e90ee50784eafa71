"""The fault suite: what the workbench promises when plugins, clients or the machine misbehave
(see docs/reliability.md)."""

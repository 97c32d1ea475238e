"""Use cases: each takes its ports (unit of work, clock, publisher) and returns domain events."""

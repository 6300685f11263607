"""Stage 4, execution: run a task with retries, fallbacks, circuit breaking and escalation."""

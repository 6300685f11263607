"""Stage 1, the heuristic estimate: a task's complexity score and level from its text, files and context."""

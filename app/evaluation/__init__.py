"""Council evaluation (issue 8): rule versions, councils and their members, rounds, conflicts, scoring, results."""

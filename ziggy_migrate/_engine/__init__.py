"""The engine: export, plan, apply, report, diff, rollback, journal, lock, promote."""

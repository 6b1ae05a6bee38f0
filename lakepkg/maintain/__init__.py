"""Moving and keeping versions: push/pull (transfer), verify, gc, lock files."""

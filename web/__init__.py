"""App-wide HTTP plumbing: request-parameter parsing, page and JSON error answers."""

"""Usage statistics from the mirror's access logs (nginx, rsyncd) in a SQLite store."""

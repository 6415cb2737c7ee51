"""Monitoring: checks of every project and of the host, the alert state
machine, delivery through apprise, the outside watchdog."""

"""Speculum: a public software mirror host, generated from one project database.

All logic lives in this package; Ansible plugins and the ``mirrorctl`` CLI are
thin adapters over it. On the mirror host it runs with Debian's python3 and the
standard library only.
"""

__version__ = "0.1.0"

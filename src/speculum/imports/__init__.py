"""Importers: turn another mirror host's configuration into Speculum projects.

Two sources are understood:

* ``import_cosi`` reads the ``mirrors.json`` of COSI's mirror (Clarkson Open
  Source Institute, github.com/COSI-Lab/Mirror): one record per project with
  an ``rsync``, ``script`` or ``static`` block.
* ``import_scripts`` reads a directory of legacy per-project shell scripts
  (``source globalvars`` header, ``mirror=``/``data=``/``data_location=``/
  ``options=`` variables and one or more ``${RSYNC} ...`` lines), with their
  systemd ``.timer`` files for the schedule.

Both return an ``ImportResult``: project records in the database format of
``schema.py`` (plain dicts and lists, ready for YAML), the names of the
``speculum_secrets`` entries the admin must add to the vault, and one note
for everything that could not be carried over. Nothing is silently lost: an
option, a field or a line that is not imported is named in a note.

What lives where:

* ``common.py``: ``ImportResult`` and what both importers share: the rsync
  option translation (how and why options are kept or dropped), project id
  normalisation, syncs_per_day rounding, marker formats, record cleaning, dates;
* ``cosi.py``: ``import_cosi`` and its helpers;
* ``timers.py``: systemd ``.timer`` files, ``OnCalendar=`` expressions and
  time spans (``calendar_times``, ``calendar_runs_per_day``, ``timespan_seconds``);
* ``legacy.py``: the shell-script reader and ``import_scripts``.

Standard library only: it runs on the mirror host as well as the controller.
"""

from __future__ import annotations

from .common import DEFAULT_SYNCS_PER_DAY as DEFAULT_SYNCS_PER_DAY
from .common import VALID_SYNCS_PER_DAY as VALID_SYNCS_PER_DAY
from .common import ImportResult, nearest_syncs_per_day
from .cosi import import_cosi
from .legacy import import_scripts
from .timers import calendar_runs_per_day, calendar_times, timespan_seconds

__all__ = ["ImportResult", "import_cosi", "import_scripts", "calendar_times",
           "calendar_runs_per_day", "timespan_seconds", "nearest_syncs_per_day"]

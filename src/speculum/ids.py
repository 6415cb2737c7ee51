"""Project identifiers as admins type them: exact, or any unique part.

Standard library only (mirrorctl on the host uses it too).
"""

from __future__ import annotations


class UnknownId(LookupError):
    pass


class AmbiguousId(LookupError):
    def __init__(self, wanted: str, matches: list[str]):
        self.matches = matches
        super().__init__(f"'{wanted}' matches {len(matches)} projects: {', '.join(matches)}; "
                         "give more of the id")


def resolve(ids, wanted: str) -> str:
    """An exact id, else the one id containing ``wanted`` (MirrorBrain-style abbreviation)."""
    ids = list(ids)
    if wanted in ids:
        return wanted
    matches = sorted(i for i in ids if wanted.lower() in i.lower())
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownId(f"no project id contains '{wanted}' (known: {', '.join(sorted(ids)) or 'none'})")
    raise AmbiguousId(wanted, matches)

"""In-memory aggregation of one batch of log lines: the ingester's hot loop.

Each request lands in ONE dict entry keyed by (hour, project, family,
address info, status class); the store spreads those few keys over its
tables at commit time. Strings that make up the keys come from caches, so
their hashes are computed once. Files and clients are kept per day (the
day changes rarely within a batch), keyed by the raw path and address.
Memory is bounded by the batch size.
"""

from __future__ import annotations

import ipaddress

from .parse import CACHE_LIMIT, Families, Format

OTHER = "other"


class Networks:
    """Named networks (``name CIDR`` per line, `#` comments) -> the first that holds an address."""

    def __init__(self, entries: list[tuple[str, str]] = ()):
        self.entries = [(name, ipaddress.ip_network(cidr, strict=False)) for name, cidr in entries]

    @classmethod
    def load(cls, path) -> Networks:
        entries = []
        with open(path, encoding="utf-8") as handle:
            for number, raw in enumerate(handle, 1):
                line = raw.split("#", 1)[0].split()
                if not line:
                    continue
                if len(line) != 2:
                    raise ValueError(f"{path}:{number}: expected `name CIDR`, got {raw.strip()!r}")
                entries.append((line[0], line[1]))
        try:
            return cls(entries)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def __call__(self, address) -> str:
        for name, network in self.entries:
            if address.version == network.version and address in network:
                return name
        return ""


class GeoIP:
    """Country ISO code from a MaxMind database (python3-maxminddb, only when configured)."""

    def __init__(self, path):
        import maxminddb  # optional dependency, imported only when a database is configured

        self.reader = maxminddb.open_database(str(path))

    def __call__(self, address) -> str:
        try:
            record = self.reader.get(str(address)) or {}
        except ValueError:
            return "unknown"
        country = record.get("country") or record.get("registered_country") or {}
        return country.get("iso_code") or "unknown"


class Batch:
    """Aggregates of parsed lines, until the store commits them with a checkpoint."""

    def __init__(self, fmt: Format, projects, families: Families | None = None,
                 networks: Networks | None = None, geoip: GeoIP | None = None):
        self.fmt = fmt
        self.projects = frozenset(projects)
        self.families = families or Families()
        self.networks, self.geoip = networks, geoip
        self._segments: dict[bytes, str] = {}
        self._addresses: dict[bytes, str] = {}
        self.reset()

    def reset(self) -> None:
        self.traffic: dict[tuple, list[int]] = {}  # (hour, project, family, info, status digit)
        # day -> ({path: [requests, bytes]} of successful requests, {project: {address}});
        # addresses never leave memory: the store keeps only sketches
        self.days: dict[str, tuple[dict[bytes, list[int]], dict[str, set[bytes]]]] = {}
        self.lines = self.malformed = self.skipped = 0

    def feed(self, lines: list[bytes]) -> None:
        parse, hour_of, family_of = self.fmt.parse, self.fmt.hour, self.families
        hours, families = self.fmt.hours, self.families.cache
        segments, addresses, traffic = self._segments, self._addresses, self.traffic
        current = files = clients = None
        malformed = skipped = 0
        for line in lines:
            hit = parse(line)
            if not hit:
                if hit is None:
                    if line.strip():  # blank lines are no loss
                        malformed += 1
                else:
                    skipped += 1
                continue
            ts, ip, _method, path, status, size, agent = hit
            hour = hours.get(ts) or hour_of(ts)
            if hour is not current:  # cached strings: identity says "same hour"
                current = hour
                files, clients = self.days.setdefault(hour[:10], ({}, {}))
            parts = path.split(b"/", 2)
            segment = parts[1] if len(parts) > 1 else b""
            project = segments.get(segment) or self._project(segment)
            info = addresses.get(ip) or self._address(ip)
            key = (hour, project, families.get(agent) or family_of(agent), info, status[0])
            acc = traffic.get(key)
            if acc is None:
                traffic[key] = [1, size]
            else:
                acc[0] += 1
                acc[1] += size
            if status[0] == 50:  # b"2": top files count what was served
                q = path.find(b"?")
                if q >= 0:
                    path = path[:q]
                acc = files.get(path)
                if acc is None:
                    files[path] = [1, size]
                else:
                    acc[0] += 1
                    acc[1] += size
            seen = clients.get(project)
            if seen is None:
                seen = clients[project] = set()
            seen.add(ip)
        self.lines += len(lines)
        self.malformed += malformed
        self.skipped += skipped

    def file_rows(self):
        """(day, project, path, requests, bytes) of the batch's successful requests."""
        for day, (files, _clients) in self.days.items():
            for path, (requests, size) in files.items():
                parts = path.split(b"/", 2)
                segment = parts[1] if len(parts) > 1 else b""
                project = self._segments.get(segment) or self._project(segment)
                yield day, project, path.decode("utf-8", "backslashreplace"), requests, size

    def client_sets(self):
        """(day, project, set of addresses)."""
        for day, (_files, clients) in self.days.items():
            for project, addresses in clients.items():
                yield day, project, addresses

    def _project(self, segment: bytes) -> str:
        if len(self._segments) > CACHE_LIMIT:
            self._segments.clear()
        name = segment.split(b"?", 1)[0].decode("utf-8", "replace")
        project = self._segments[segment] = name if name in self.projects else OTHER
        return project

    def _address(self, ip: bytes) -> str:
        """'4|6 <tab> network <tab> country' for an address; '-' for an unparsable one."""
        if len(self._addresses) > CACHE_LIMIT:
            self._addresses.clear()
        if not self.networks and not self.geoip:  # no need to parse the address
            info = self._addresses[ip] = "6\t\t" if b":" in ip else "4\t\t"
            return info
        try:
            address = ipaddress.ip_address(ip.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            info = "-\t\t"
        else:
            network = self.networks(address) if self.networks else ""
            country = self.geoip(address) if self.geoip else ""
            info = f"{address.version}\t{network}\t{country}"
        self._addresses[ip] = info
        return info

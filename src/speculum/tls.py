"""HTTPS settings (``speculum_tls_*``, ``speculum_acme_*``), checked before
anything on the host changes: the certbot role would otherwise fail half-way,
after nginx was reconfigured, or ask the CA for a name it cannot validate.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

# a DNS name certbot can validate over HTTP-01: letters, digits, hyphens, dots
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}  # what Ansible's bool filter reads


def name_problem(name: Any) -> str:
    """Why ``name`` cannot be in the certificate ('' when it can)."""
    if not isinstance(name, str) or not name:
        return "must be a DNS name"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "is an IP address: certbot asks for DNS names only"
    if name.startswith("*."):
        return "is a wildcard: HTTP-01 (webroot) cannot validate it"
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.rstrip(".").split(".")):
        return "is not a DNS name (letters, digits, hyphens, dots)"
    return ""


def settings_errors(settings: dict[str, Any]) -> list[str]:
    """Every problem of the HTTPS settings, each naming its variable."""
    errors = []
    names = settings.get("speculum_tls_names")
    if not isinstance(names, list) or not names:
        errors.append("speculum_tls_names: must be a non-empty list of DNS names")
    else:
        for i, name in enumerate(names):
            problem = name_problem(name)
            if problem:
                errors.append(f"speculum_tls_names[{i}]: {name!r} {problem}")
        if len(set(names)) != len(names):
            errors.append("speculum_tls_names: a name is listed twice")
    server = settings.get("speculum_acme_server")
    if not isinstance(server, str) or not re.fullmatch(r"https://[^/\s]+(/\S*)?", server):
        errors.append(f"speculum_acme_server: {server!r} must be the https:// URL of an ACME directory")
    email = settings.get("speculum_acme_email")
    if not isinstance(email, str) or not _EMAIL.fullmatch(email):
        errors.append(f"speculum_acme_email: {email!r} must be an e-mail address (the CA's expiry notices)")
    bundle = settings.get("speculum_acme_ca_bundle", "")
    if not isinstance(bundle, str):
        errors.append("speculum_acme_ca_bundle: must be a path (or empty)")
    elif bundle and not os.path.isfile(bundle):
        errors.append(f"speculum_acme_ca_bundle: {bundle} is not a file on the controller")
    hsts = settings.get("speculum_tls_hsts_max_age", 0)
    if isinstance(hsts, str) and hsts.isdigit():  # -e name=600 passes text
        hsts = int(hsts)
    if isinstance(hsts, bool) or not isinstance(hsts, int) or hsts < 0:
        errors.append(f"speculum_tls_hsts_max_age: {hsts!r} must be a whole number of seconds (0: no header)")
    for flag in ("speculum_tls_self_signed_fallback", "speculum_tls_redirect_pages"):
        value = settings.get(flag, False)
        if not isinstance(value, bool) and str(value).lower() not in _BOOL_WORDS:
            errors.append(f"{flag}: {settings.get(flag)!r} must be true or false")
    return errors

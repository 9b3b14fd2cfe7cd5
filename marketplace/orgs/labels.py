"""Display names of organization kinds and member roles, ready for translation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "owner": _l("Owner"),
    "admin": _l("Admin"),
    "member": _l("Member"),
    "billing": _l("Billing"),
}

KIND_LABELS = {
    "sme": _l("SME firm"),
    "vendor": _l("Vendor"),
    "park": _l("Industrial park"),
    "operator": _l("Marketplace operator"),
}

"""What the firms part does: registration, profiles, size standards, parks, code reviews."""

from marketplace.firms.services.firm_details import FirmDetails
from marketplace.firms.services.parks import (
    ParkChoice,
    ParkRequest,
    ParkRequests,
    approve_park_request,
    park_for_firm,
    park_request,
    park_requests,
    parks_for_firm,
    reject_park_request,
    request_to_join_park,
    withdraw_park_request,
)
from marketplace.firms.services.profiles import (
    FirmProfile,
    details_of,
    firm_profile,
    profile_of,
    register_firm,
    update_firm,
)
from marketplace.firms.services.standards import (
    NoStandardInForce,
    current_standard,
    firm_today,
    load_size_standard,
    load_standards,
    standard_by_id,
    standard_in_force_on,
)
from marketplace.firms.services.uscc_review import confirm_uscc, reject_uscc, unverified_codes

__all__ = [
    "FirmDetails",
    "FirmProfile",
    "NoStandardInForce",
    "ParkChoice",
    "ParkRequest",
    "ParkRequests",
    "approve_park_request",
    "confirm_uscc",
    "current_standard",
    "details_of",
    "firm_profile",
    "firm_today",
    "load_size_standard",
    "load_standards",
    "park_for_firm",
    "park_request",
    "park_requests",
    "parks_for_firm",
    "profile_of",
    "register_firm",
    "reject_park_request",
    "reject_uscc",
    "request_to_join_park",
    "standard_by_id",
    "standard_in_force_on",
    "unverified_codes",
    "update_firm",
    "withdraw_park_request",
]

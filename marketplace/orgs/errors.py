"""Errors of the orgs part."""

from __future__ import annotations

from marketplace.errors import AppError


class InvitationGone(AppError):
    """The invitation was accepted, revoked or has expired, so it can no longer be used."""

    status = 410
    code = "invitation_gone"
    title = "Invitation no longer valid"

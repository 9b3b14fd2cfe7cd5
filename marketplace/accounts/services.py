"""Account use cases: sign up, confirm the address, sign in, reset and change passwords."""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.accounts import inputs, mails, tokens
from marketplace.accounts.errors import InvalidLink
from marketplace.accounts.models import User
from marketplace.accounts.passwords import hash_password, needs_rehash, verify_password
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, RateLimited, ValidationFailed
from marketplace.extensions import login_throttle
from marketplace.i18n import LANGUAGES
from marketplace.mail.models import OutboundEmail

RESEND_INTERVAL = timedelta(minutes=1)
C = TypeVar("C")


@dataclass(frozen=True)
class Confirmation:
    """The outcome of following a confirmation link."""

    user: User
    already_confirmed: bool


# ---- shared steps ---------------------------------------------------------------------------


def user_by_email(session: Session, email: str) -> User | None:
    """Return the user with this (normalized) email address, if any."""
    return session.scalar(sa.select(User).where(User.email == email))


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    # Every session made before this one carries the old epoch and stops loading.
    user.session_epoch += 1


def _add_user(
    session: Session,
    clock: Clock,
    *,
    display_name: str,
    email: str,
    password: str,
    password_confirm: str,
    locale: str | None,
) -> User:
    errors: inputs.Errors = {}
    name = inputs.display_name(display_name, errors)
    address = inputs.email(email, errors)
    inputs.new_password(password, password_confirm, address, errors)
    if "email" not in errors and user_by_email(session, address) is not None:
        errors["email"] = inputs.email_unavailable()
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=address,
        display_name=name,
        password_hash=hash_password(password),
        locale=locale if locale in LANGUAGES else None,
        created_at=clock.now(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        # Someone signed up with the same address between our check and our insert.
        session.rollback()
        raise ValidationFailed({"email": inputs.email_unavailable()}) from exc
    return user


# ---- sign up and confirm --------------------------------------------------------------------


def sign_up(
    session: Session,
    clock: Clock,
    *,
    display_name: str,
    email: str,
    password: str,
    password_confirm: str,
    locale: str | None = None,
    ip: str | None = None,
) -> User:
    """Create an unconfirmed account and mail it a confirmation link."""
    user = _add_user(
        session,
        clock,
        display_name=display_name,
        email=email,
        password=password,
        password_confirm=password_confirm,
        locale=locale,
    )
    after = snapshot(user, ("email", "display_name", "locale"))
    record(
        session,
        clock,
        Actor(user.id, ip_address=ip),
        "user.signed_up",
        ("user", user.id),
        after=after,
    )
    mails.queue_confirmation(session, clock, user)
    session.commit()
    return user


def add_confirmed_user(
    session: Session,
    clock: Clock,
    actor: Actor | None,
    *,
    email: str,
    display_name: str,
    password: str | None = None,
    via: str | None = None,
    ip: str | None = None,
) -> User:
    """Add an account whose address is vouched for, with its audit entry; the caller commits.

    An actor (the operator is `Actor(None)`) records "user.created"; with None the account
    signs itself up ("user.signed_up" by itself, from ip), `via` naming who vouched for it.
    Without a password the account gets one nobody knows. Bad input raises ValidationFailed
    naming the field; an address taken meanwhile also rolls the session back.
    """
    chosen = password if password is not None else secrets.token_urlsafe(32)
    user = _add_user(
        session,
        clock,
        display_name=display_name,
        email=email,
        password=chosen,
        password_confirm=chosen,
        locale=None,
    )
    user.email_confirmed_at = clock.now()
    after = snapshot(user, ("email", "display_name")) | ({"via": via} if via else {})
    if actor is None:
        record(
            session,
            clock,
            Actor(user.id, ip_address=ip),
            "user.signed_up",
            ("user", user.id),
            after=after,
        )
    else:
        record(session, clock, actor, "user.created", ("user", user.id), after=after)
    return user


def create_confirmed_user(
    session: Session, clock: Clock, *, display_name: str, email: str, password: str
) -> User:
    """Create an account whose address the operator vouches for (no mail is sent)."""
    user = add_confirmed_user(
        session, clock, Actor(None), email=email, display_name=display_name, password=password
    )
    session.commit()
    return user


def _claim(reader: Callable[[str, datetime, str], C], clock: Clock, token: str) -> C:
    try:
        return reader(mails.secret_key(), clock.now(), token)
    except tokens.ExpiredToken as exc:
        raise InvalidLink(_("This link has expired. Ask for a new one.")) from exc
    except tokens.BadToken as exc:
        raise InvalidLink(
            _("This link is not valid. Check that you copied the whole link from the message.")
        ) from exc


def confirm_email(session: Session, clock: Clock, token: str) -> Confirmation:
    """Mark the address in a confirmation token as confirmed (harmless when it already is)."""
    claim = _claim(tokens.read_confirmation_token, clock, token)
    user = session.get(User, claim.user_id)
    if user is None or user.email != claim.email:
        raise InvalidLink(_("This link is not valid any more. Ask for a new one."))
    if user.is_confirmed:
        return Confirmation(user, already_confirmed=True)
    user.email_confirmed_at = clock.now()
    record(session, clock, Actor(user.id), "user.email_confirmed", ("user", user.id))
    session.commit()
    return Confirmation(user, already_confirmed=False)


def resend_confirmation(session: Session, clock: Clock, user: User) -> None:
    """Mail the user a fresh confirmation link, at most once a minute."""
    if user.is_confirmed:
        raise Conflict(_("Your email address is already confirmed."))
    wait = _wait_before_mailing(session, clock, user.email, mails.CONFIRM_EMAIL)
    if wait is not None:
        raise RateLimited(
            _("We sent you a link a moment ago. Check your mail, or try again in a minute."),
            retry_after=max(1, math.ceil(wait.total_seconds())),
        )
    mails.queue_confirmation(session, clock, user)
    session.commit()


def _wait_before_mailing(
    session: Session, clock: Clock, address: str, kind: str
) -> timedelta | None:
    """Return how long until another mail of kind may go to address (None: it may now)."""
    last_sent = session.scalar(
        sa.select(sa.func.max(OutboundEmail.created_at)).where(
            OutboundEmail.to_address == address, OutboundEmail.kind == kind
        )
    )
    if last_sent is None or clock.now() - last_sent >= RESEND_INTERVAL:
        return None
    return RESEND_INTERVAL - (clock.now() - last_sent)


# ---- sign in --------------------------------------------------------------------------------


@functools.cache
def _decoy_hash() -> str:
    return hash_password("a password no account has")


def _too_many_attempts(retry_after: int) -> RateLimited:
    minutes = max(1, math.ceil(retry_after / 60))
    detail = ngettext(
        "Too many failed attempts. Try again in %(num)d minute.",
        "Too many failed attempts. Try again in %(num)d minutes.",
        minutes,
    )
    return RateLimited(detail, retry_after=retry_after)


def _bad_credentials() -> ValidationFailed:
    # One message for an unknown address and a wrong password: no account enumeration.
    return ValidationFailed({"credentials": [_("The email address or password is incorrect.")]})


def log_in(session: Session, clock: Clock, *, email: str, password: str, ip: str) -> User:
    """Check the credentials under the sign-in throttle and return the user they name."""
    address = email.strip().lower()
    if not address or not password:
        raise _bad_credentials()
    lock = login_throttle.state(address, ip)
    if lock.locked:
        # Refuse before looking at the password, or the lockout would still leak guesses.
        raise _too_many_attempts(lock.retry_after)
    user = user_by_email(session, address)
    if user is None:
        verify_password(_decoy_hash(), password)  # same work as a real check: no timing leak
    if user is None or not verify_password(user.password_hash, password):
        login_throttle.record_failure(address, ip)
        raise _bad_credentials()
    if not user.is_active:
        raise ValidationFailed(
            {"credentials": [_("This account is closed. Contact the marketplace operator.")]}
        )
    login_throttle.clear_account(address)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    session.commit()
    return user


def forget_failed_logins(email: str) -> None:
    """Clear an account's failed sign-ins, ending its lockout (the operator's remedy)."""
    login_throttle.clear_account(email.strip().lower())


# ---- passwords ------------------------------------------------------------------------------


def request_password_reset(session: Session, clock: Clock, *, email: str) -> None:
    """Mail a reset link if an active account has this address; answer the same either way."""
    errors: inputs.Errors = {}
    address = inputs.email(email, errors)
    if errors:
        raise ValidationFailed(errors)
    user = user_by_email(session, address)
    if user is None or not user.is_active:
        return
    # At most one link a minute, so the form cannot be used to flood someone's mailbox.
    if _wait_before_mailing(session, clock, address, mails.PASSWORD_RESET) is not None:
        return
    mails.queue_password_reset(session, clock, user)
    session.commit()


def user_for_reset_token(session: Session, clock: Clock, token: str) -> User:
    """Return the user a reset link is for, or raise InvalidLink if it is used or expired."""
    claim = _claim(tokens.read_reset_token, clock, token)
    user = session.get(User, claim.user_id)
    if (
        user is None
        or not user.is_active
        or tokens.password_fingerprint(user.password_hash) != claim.password_fingerprint
    ):
        raise InvalidLink(_("This link was already used or is no longer valid. Ask for a new one."))
    return user


def reset_password(
    session: Session,
    clock: Clock,
    token: str,
    *,
    password: str,
    password_confirm: str,
    ip: str | None = None,
) -> User:
    """Set a new password through a reset link; every existing session of the user ends."""
    user = user_for_reset_token(session, clock, token)
    errors: inputs.Errors = {}
    inputs.new_password(password, password_confirm, user.email, errors)
    if errors:
        raise ValidationFailed(errors)
    _set_password(user, password)
    if not user.is_confirmed:
        # The link reached the mailbox, which proves the address as well as a confirmation.
        user.email_confirmed_at = clock.now()
    record(session, clock, Actor(user.id, ip_address=ip), "user.password_reset", ("user", user.id))
    session.commit()
    login_throttle.clear_account(user.email)
    return user


def change_password(
    session: Session,
    clock: Clock,
    user: User,
    *,
    current_password: str,
    new_password: str,
    new_password_confirm: str,
    ip: str,
) -> User:
    """Replace the password after checking the current one; other sessions of the user end."""
    lock = login_throttle.state(user.email, ip)
    if lock.locked:
        raise _too_many_attempts(lock.retry_after)
    errors: inputs.Errors = {}
    if not verify_password(user.password_hash, current_password):
        # Guesses here count like failed sign-ins, so a stolen session cannot probe passwords.
        login_throttle.record_failure(user.email, ip)
        errors["current_password"] = [_("The current password is not correct.")]
    inputs.new_password(
        new_password,
        new_password_confirm,
        user.email,
        errors,
        field="new_password",
        confirm_field="new_password_confirm",
    )
    if "new_password" not in errors and new_password == current_password:
        errors["new_password"] = [_("Choose a password different from the current one.")]
    if errors:
        raise ValidationFailed(errors)
    _set_password(user, new_password)
    record(
        session, clock, Actor(user.id, ip_address=ip), "user.password_changed", ("user", user.id)
    )
    session.commit()
    return user


# ---- settings -------------------------------------------------------------------------------


def update_settings(
    session: Session, clock: Clock, user: User, *, display_name: str, locale: str
) -> User:
    """Save the user's display name and preferred language."""
    errors: inputs.Errors = {}
    name = inputs.display_name(display_name, errors)
    if locale not in LANGUAGES:
        errors["locale"] = [_("Choose one of the offered languages.")]
    if errors:
        raise ValidationFailed(errors)
    fields = ("display_name", "locale")
    before = snapshot(user, fields)
    user.display_name = name
    user.locale = locale
    after = snapshot(user, fields)
    if after != before:
        record(
            session,
            clock,
            Actor(user.id),
            "user.settings_changed",
            ("user", user.id),
            before=before,
            after=after,
        )
    session.commit()
    return user

"""Five wrong passwords lock an account for a while, and the sign-in page says so."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import LiveServer
from tests.browser.journeys import PASSWORD, log_in, log_out, sign_up, unique_email

ALLOWED_FAILURES = 5
LOCKOUT_MINUTES = 15


def _is_login_post(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/login")


def test_the_sixth_attempt_after_five_wrong_passwords_shows_the_lockout(
    page: Page, live_server: LiveServer
) -> None:
    email = unique_email("locked")
    sign_up(page, live_server, email)
    log_out(page)

    for _attempt in range(ALLOWED_FAILURES):
        with page.expect_response(_is_login_post) as answer:
            log_in(page, live_server, email, "not-the-password-at-all")
        assert answer.value.status == 422
        expect(page.get_by_test_id("form-error")).to_be_visible()

    refused = page.get_by_test_id("form-error").inner_text()
    # Even the right password is refused while the lockout lasts.
    with page.expect_response(_is_login_post) as answer:
        log_in(page, live_server, email, PASSWORD)
    assert answer.value.status == 429
    assert answer.value.headers.get("retry-after", "").isdigit()
    lockout = page.get_by_test_id("form-error")
    expect(lockout).to_be_visible()
    expect(lockout).to_contain_text(re.compile(rf"(?<!\d){LOCKOUT_MINUTES}(?!\d)"))
    expect(lockout).not_to_have_text(refused)
    expect(page.get_by_test_id("logout")).to_have_count(0)

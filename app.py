"""Yunshi (云市): create_app() builds the whole application."""

from __future__ import annotations

from flask import Flask

from billing.api import bp as billing_api_bp
from billing.card_views import bp as cards_bp
from billing.invoice_views import bp as invoices_bp
from billing.invoice_views import operator_bp as billing_invoices_operator_bp
from billing.invoice_views import vendor_bp as invoices_vendor_bp
from billing.operator_views import bp as billing_operator_bp
from billing.payments.collection import on_invoice_finalized
from billing.payments.gateway import init_payments
from billing.payments.refunds import on_credit_note_created
from billing.payments.stripe_webhooks import bp as stripe_webhooks_bp
from billing.services.finalization import register_adjustment
from billing.subsidies.applying import apply_subsidies
from billing.subsidies.demo import load_subsidy_demo
from billing.subsidies.enrollment_views import bp as subsidy_enrollment_bp
from billing.subsidies.estimates import quote_subsidy_note
from billing.subsidies.park_views import bp as subsidy_park_bp
from billing.subsidies.report_views import bp as subsidy_reports_bp
from billing.subsidies.settlement import SETTLING_EVENTS
from billing.vendor_views import bp as billing_vendor_bp
from billing.views import bp as subscriptions_bp
from catalog.api import bp as catalog_api_bp
from catalog.demo import load_catalog_demo
from catalog.page_cache import init_page_cache
from catalog.quote_notes import register_quote_note
from catalog.review_views import bp as catalog_review_bp
from catalog.storefront_views import bp as storefront_bp
from catalog.vendor_views import bp as catalog_vendor_bp
from marketplace import cli, logs, wiring
from marketplace.accounts.views import bp as accounts_bp
from marketplace.api import init_api
from marketplace.console.views import bp as console_bp
from marketplace.demo import register_demo_loader
from marketplace.errors import register_error_handlers
from marketplace.events.handlers import register_handler
from marketplace.firms.views import bp as firms_bp
from marketplace.i18n import init_i18n
from marketplace.orgs.views import bp as orgs_bp
from marketplace.security import init_security
from marketplace.settings import Settings, settings_from_env
from marketplace.urls import init_url_converters
from marketplace.web.views import bp as web_bp
from marketplace.webhooks.api import bp as webhooks_api_bp
from marketplace.webhooks.relay import init_relay
from marketplace.webhooks.views import bp as webhooks_bp
from sso.api import bp as sso_api_bp
from sso.cli import cli as sso_cli
from sso.jwks_views import bp as jwks_bp
from sso.oauth import bp as oauth_bp
from sso.oauth import init_sso
from sso.provider.app_api import bp as app_client_api_bp
from sso.provider.app_console import bp as app_client_console_bp
from sso.provider.consent_views import connected_bp as connected_apps_bp
from sso.provider.consent_views import firm_bp as firm_apps_bp
from sso.provider.demo import load_sso_demo
from sso.provider.form_targets import init_form_targets
from sso.provider.launch import bp as launch_bp
from sso.provider.launch_links import init_launch_links
from sso.provider.revocation import (
    ENDING_EVENTS,
    SEAT_EVENT,
    on_seat_unassigned,
    on_subscription_ended,
)
from sso.provider.views import bp as provider_bp
from sso.upstream import init_upstream_login
from sso.upstream_views import bp as upstream_bp
from sso.views import bp as sso_bp

BLUEPRINTS = (
    web_bp,
    accounts_bp,
    orgs_bp,
    firms_bp,
    console_bp,
    sso_bp,
    oauth_bp,
    jwks_bp,
    sso_api_bp,
    storefront_bp,
    catalog_review_bp,
    catalog_vendor_bp,
    catalog_api_bp,
    billing_operator_bp,
    subscriptions_bp,
    billing_api_bp,
    billing_vendor_bp,
    invoices_bp,
    invoices_vendor_bp,
    billing_invoices_operator_bp,
    cards_bp,
    webhooks_bp,
    webhooks_api_bp,
    stripe_webhooks_bp,
    provider_bp,
    launch_bp,
    app_client_api_bp,
    app_client_console_bp,
    connected_apps_bp,
    firm_apps_bp,
    upstream_bp,
    subsidy_park_bp,
    subsidy_enrollment_bp,
    subsidy_reports_bp,
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from settings (read from the environment when none are given)."""
    settings = settings or settings_from_env()
    logs.configure_logging(settings.log_json)
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config.from_mapping(settings.flask_config())
    app.config["SETTINGS"] = settings
    init_url_converters(app)
    wiring.init_extensions(app, settings)
    init_i18n(app)
    logs.init_request_ids(app)
    init_security(
        app,
        settings.trusted_proxy_hops,
        https=settings.is_production,
        extra_sources=settings.payment_csp_sources,
    )
    register_error_handlers(app)
    init_api(app)
    init_sso(app)
    init_upstream_login(app, settings)
    init_payments(app, settings)
    init_page_cache(app)
    init_launch_links(app)
    init_form_targets(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    init_relay(app)
    register_handler("invoice.finalized", on_invoice_finalized)
    register_handler("credit_note.created", on_credit_note_created)
    for event_type in ENDING_EVENTS:
        register_handler(event_type, on_subscription_ended)
    register_handler(SEAT_EVENT, on_seat_unassigned)
    register_adjustment(apply_subsidies)
    register_quote_note(quote_subsidy_note)
    for event_type, settle in SETTLING_EVENTS.items():
        register_handler(event_type, settle)
    cli.register(app)
    app.cli.add_command(sso_cli)
    register_demo_loader(load_catalog_demo)
    register_demo_loader(load_sso_demo)
    register_demo_loader(load_subsidy_demo)  # after the catalog's: it subscribes to its plans
    return app

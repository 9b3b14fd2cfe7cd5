"""Forms of the firms part; the services check the values, so the fields take any text."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField

from marketplace.firms.regions import REGIONS
from marketplace.firms.services import FirmDetails
from marketplace.firms.sme_size import SizeStandard
from marketplace.i18n import current_language


def local_name(thing: Any) -> str:
    """Return the Chinese or English name of something with name_zh and name_en."""
    return str(thing.name_zh if current_language() == "zh_CN" else thing.name_en)


class FirmForm(FlaskForm):
    """Register a firm or change its details."""

    # Every field is free text: the service checks them all at once and names each problem,
    # so a form-level check must not stop the others from being reported.
    legal_name = StringField(_l("Legal name"), render_kw={"maxlength": 200})
    uscc = StringField(
        _l("Unified social credit code (统一社会信用代码)"),
        description=_l("18 characters, as printed on the business licence."),
        render_kw={"autocapitalize": "characters", "spellcheck": "false"},
    )
    region_code = SelectField(_l("Region"), validate_choice=False)
    industry_code = SelectField(_l("Industry"), validate_choice=False)
    staff = StringField(
        _l("Staff (persons)"),
        description=_l("Whole number. Needed if the industry is sized by staff."),
        render_kw={"inputmode": "numeric"},
    )
    revenue_wan = StringField(
        _l("Annual revenue (万元)"),
        description=_l("In ten thousand yuan, up to 4 decimals. Needed if sized by revenue."),
        render_kw={"inputmode": "decimal"},
    )
    assets_wan = StringField(
        _l("Total assets (万元)"),
        description=_l("In ten thousand yuan, up to 4 decimals. Needed if sized by assets."),
        render_kw={"inputmode": "decimal"},
    )
    established_on = StringField(_l("Date of establishment (optional)"), render_kw={"type": "date"})
    submit = SubmitField(_l("Save"))

    def offer_choices(self, standard: SizeStandard) -> None:
        """Fill the region and industry lists in the reader's language."""
        self.region_code.choices = [("", _l("Choose…"))] + [
            (region.code, local_name(region)) for region in REGIONS
        ]
        self.industry_code.choices = [("", _l("Choose…"))] + [
            (rule.code, local_name(rule)) for rule in standard.industries.values()
        ]

    def details(self) -> FirmDetails:
        """Return what was typed, for the service to check."""
        return FirmDetails(
            legal_name=self.legal_name.data or "",
            uscc=self.uscc.data or "",
            region_code=self.region_code.data or "",
            industry_code=self.industry_code.data or "",
            staff=self.staff.data or "",
            revenue_wan=self.revenue_wan.data or "",
            assets_wan=self.assets_wan.data or "",
            established_on=self.established_on.data or "",
        )


class JoinParkForm(FlaskForm):
    """Ask a park to take the firm in."""

    message = TextAreaField(
        _l("Message to the park (optional)"), render_kw={"maxlength": 500, "rows": 3}
    )
    submit = SubmitField(_l("Send request"))


class RejectRequestForm(FlaskForm):
    """Turn a firm's request down with a reason the firm will see."""

    reason = TextAreaField(_l("Reason"), render_kw={"maxlength": 500, "rows": 3})
    submit = SubmitField(_l("Reject request"))

"""What the API answers about its callers."""

from __future__ import annotations

from marshmallow import Schema, fields


class OrganizationRefSchema(Schema):
    """An organization named by id and name."""

    id = fields.Integer(required=True, metadata={"description": "The organization's id."})
    name = fields.String(required=True, metadata={"description": "Its registered name."})


class CallerSchema(Schema):
    """The API client behind the access token, its vendor, scopes and mode."""

    client_id = fields.String(required=True, metadata={"description": "The public client id."})
    name = fields.String(required=True, metadata={"description": "The name the vendor gave it."})
    organization = fields.Nested(
        OrganizationRefSchema, required=True, metadata={"description": "The vendor."}
    )
    scopes = fields.List(
        fields.String(), required=True, metadata={"description": "The scopes this token holds."}
    )
    sandbox = fields.Boolean(
        required=True, metadata={"description": "Whether the client sees only sandbox data."}
    )

"""What the API answers about its callers."""

from __future__ import annotations

from marshmallow import Schema, fields


class OrganizationRefSchema(Schema):
    """An organization named by id and name."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CallerSchema(Schema):
    """The API client behind the access token, its vendor, scopes and mode."""

    client_id = fields.String(required=True)
    name = fields.String(required=True)
    organization = fields.Nested(OrganizationRefSchema, required=True)
    scopes = fields.List(fields.String(), required=True)
    sandbox = fields.Boolean(required=True)

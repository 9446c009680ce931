"""Wire shapes for login and tokens."""

from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    device_name = fields.String(load_default="", validate=validate.Length(max=100))


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    department_id = fields.Integer(allow_none=True)
    roles = fields.Method("get_roles")
    locale = fields.String()

    def get_roles(self, user: object) -> list[str]:
        return sorted(getattr(user, "roles", set()))


class TokenSchema(Schema):
    token = fields.String()
    user = fields.Nested(UserSchema)


class DeviceSchema(Schema):
    id = fields.Integer()
    device_id = fields.String()
    device_name = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


token_request_schema = TokenRequestSchema()
user_schema = UserSchema()

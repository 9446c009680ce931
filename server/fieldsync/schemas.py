"""Wire shapes of the field-sync API that are not the protocol's own messages (``sync/messages.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class SyncDeviceLoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_name = fields.String(load_default="", validate=validate.Length(max=100))
    device_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Za-z0-9._-]{8,64}$"),
        metadata={"description": "The phone's own id, kept so queued changes stay pushable"},
    )


class SyncDeviceUserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    inspector_id = fields.Integer(
        allow_none=True, metadata={"description": "Written as signer_id, recorded_by and inspector_id"}
    )
    locale = fields.String()


class SyncDeviceSchema(Schema):
    device_id = fields.String()
    token = fields.String()
    user = fields.Nested(SyncDeviceUserSchema)


class SyncDeviceMeSchema(Schema):
    device_id = fields.String()
    user = fields.Nested(SyncDeviceUserSchema)


class SyncFinalizeSchema(Schema):
    content_hash = fields.String(metadata={"description": "The hash the signatures bind"})


class SyncBlobUploadQuerySchema(Schema):
    kind = fields.String(load_default="photo", validate=validate.OneOf(("photo", "signature")))

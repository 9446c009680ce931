"""Wire shapes of evidence files: their metadata out, the query parameters of uploads and downloads in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from server.evidence.models import BLOB_KINDS


class UtcDateTime(fields.DateTime):
    """Columns hold naive UTC; on the wire the offset is explicit so no client guesses the zone."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class RenditionsSchema(Schema):
    thumb = fields.String(metadata={"description": "SHA-256 of the 320 px JPEG"})
    review = fields.String(metadata={"description": "SHA-256 of the 1600 px JPEG"})


class BlobSchema(Schema):
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    kind = fields.String()
    width = fields.Integer(metadata={"description": "As displayed (EXIF orientation applied)"})
    height = fields.Integer()
    orientation = fields.Integer()
    taken_at = UtcDateTime(allow_none=True, metadata={"description": "EXIF capture time, in UTC"})
    gps_lat = fields.Float(allow_none=True)
    gps_lon = fields.Float(allow_none=True)
    device = fields.String(allow_none=True)
    uploaded_by_id = fields.Integer()
    uploaded_at = UtcDateTime()
    renditions = fields.Nested(RenditionsSchema)


class BlobUploadQuerySchema(Schema):
    kind = fields.String(load_default="photo", validate=validate.OneOf(BLOB_KINDS))


class BlobDownloadQuerySchema(Schema):
    rendition = fields.String(
        load_default="original", validate=validate.OneOf(("original", "thumb", "review"))
    )


blob_schema = BlobSchema()

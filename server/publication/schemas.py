"""Wire shapes of publication: the public feed's query, publishing by hand, what waits for it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from server.db import MAX_ID
from server.i18n import local_tz

MAX_PER_PAGE = 500


class UpdatedSince(fields.Field[dt.datetime]):
    """An ISO 8601 date-time (with an offset; UTC if none) or a date (00:00 Asia/Shanghai), as
    the naive UTC the database stores."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("Not a date-time.")
        text = value.strip()
        if "T" in text:
            # An unencoded "+" of an offset arrives as a space from a query string.
            text = text.replace("Z", "+00:00").replace(" ", "+")
        try:
            if "T" in text:
                moment = dt.datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    return moment
            else:
                day = dt.date.fromisoformat(text)
                moment = dt.datetime.combine(day, dt.time(), tzinfo=local_tz())
        except ValueError as exc:
            raise ValidationError("Not an ISO 8601 date or date-time.") from exc
        return moment.astimezone(dt.UTC).replace(tzinfo=None)


class FeedQuerySchema(Schema):
    # With updated_since: continue after this inspection id among results changed at exactly that
    # moment (the keyset of the ``next`` link).
    after = fields.Integer(validate=validate.Range(min=0, max=MAX_ID))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    updated_since = UpdatedSince()
    q = fields.String(validate=validate.Length(max=100))
    task = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    department = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class PublishSchema(Schema):
    inspection_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )


class PendingQuerySchema(Schema):
    publishable = fields.Boolean()


class PendingResultSchema(Schema):
    """An approved result waiting for publication, as its department sees it."""

    inspection_id = fields.Integer()
    target_code = fields.String()
    target_name = fields.String()
    state = fields.String()
    approved_at = fields.DateTime()
    result_due_on = fields.Date(allow_none=True)
    publication_due_on = fields.Date(allow_none=True)
    withhold_status = fields.String()
    publishable = fields.Boolean()
    categories = fields.List(fields.String())


class PublishedSchema(Schema):
    inspection_id = fields.Integer(attribute="id")
    state = fields.String()
    published_at = fields.DateTime()


class PublishResponseSchema(Schema):
    published = fields.List(fields.Nested(PublishedSchema))
    already_published = fields.List(fields.Integer())

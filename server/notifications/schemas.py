"""Wire shapes of notifications (the text comes translated into the caller's language)."""

from marshmallow import Schema, fields


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.Method("get_text")
    link = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)

    def get_text(self, obj: object) -> str:
        from server.i18n import translate

        return translate(str(getattr(obj, "text", "")), **dict(getattr(obj, "params", {}) or {}))


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1)


class MarkReadSchema(Schema):
    ids = fields.List(fields.Integer(), load_default=None, metadata={"description": "omit: all unread"})


class MarkedSchema(Schema):
    marked = fields.Integer()

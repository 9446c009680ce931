"""What changed between two versions of an inspection (pure: two version records in, a diff out).

A version's ``record`` (``fieldsync.services.version_record``) holds ``content`` — exactly what the
signatures bind: notes, outcome, answers (value and note per checkpoint), finding ids and photo
hashes — plus the full findings, photos and signatures. The diff compares the content and takes the
details of added or removed findings and photos from the records, so the reviewer reads "checkpoint
2: 否 → 是, note added; photo added" instead of two hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnswerChange:
    checkpoint_id: int | None
    text: str  # the checkpoint's text as the newer version's checklist has it
    old_value: str | None
    new_value: str | None
    old_note: str | None
    new_note: str | None

    @property
    def value_changed(self) -> bool:
        return self.old_value != self.new_value

    @property
    def note_changed(self) -> bool:
        return (self.old_note or None) != (self.new_note or None)


@dataclass
class VersionDiff:
    old_number: int
    new_number: int
    old_hash: str
    new_hash: str
    answers: list[AnswerChange] = field(default_factory=list)
    notes: tuple[str | None, str | None] | None = None
    outcome: tuple[dict[str, Any] | None, dict[str, Any] | None] | None = None
    findings_added: list[dict[str, Any]] = field(default_factory=list)
    findings_removed: list[dict[str, Any]] = field(default_factory=list)
    photos_added: list[dict[str, Any]] = field(default_factory=list)
    photos_removed: list[dict[str, Any]] = field(default_factory=list)
    signatures_added: list[dict[str, Any]] = field(default_factory=list)

    @property
    def content_changed(self) -> bool:
        return self.old_hash != self.new_hash

    @property
    def empty(self) -> bool:
        return not (
            self.answers
            or self.notes
            or self.outcome
            or self.findings_added
            or self.findings_removed
            or self.photos_added
            or self.photos_removed
            or self.signatures_added
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["content_changed"] = self.content_changed
        data["notes"] = {"old": self.notes[0], "new": self.notes[1]} if self.notes else None
        data["outcome"] = {"old": self.outcome[0], "new": self.outcome[1]} if self.outcome else None
        return data


def checkpoint_texts(record: Mapping[str, Any]) -> dict[int, str]:
    """Checkpoint id → text from a version's frozen checklist."""
    texts: dict[int, str] = {}
    for item in (record.get("inspection") or {}).get("checklist") or []:
        for checkpoint in item.get("checkpoints") or []:
            texts[checkpoint["id"]] = checkpoint.get("text", "")
    return texts


def _content(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("content") or {}


def _answers(record: Mapping[str, Any]) -> dict[Any, Mapping[str, Any]]:
    return {a.get("checkpoint_id"): a for a in _content(record).get("answers") or []}


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, str(value))


def diff_records(
    old: Mapping[str, Any], new: Mapping[str, Any], old_number: int = 0, new_number: int = 0
) -> VersionDiff:
    """The differences from ``old`` to ``new`` (usually version n-1 and n of one inspection)."""
    diff = VersionDiff(
        old_number=old_number,
        new_number=new_number,
        old_hash=str(old.get("content_hash", "")),
        new_hash=str(new.get("content_hash", "")),
    )
    texts = {**checkpoint_texts(old), **checkpoint_texts(new)}
    old_answers, new_answers = _answers(old), _answers(new)
    for checkpoint in sorted(set(old_answers) | set(new_answers), key=_sort_key):
        before, after = old_answers.get(checkpoint, {}), new_answers.get(checkpoint, {})
        change = AnswerChange(
            checkpoint_id=checkpoint if isinstance(checkpoint, int) else None,
            text=texts.get(checkpoint, "") if isinstance(checkpoint, int) else "",
            old_value=before.get("value"),
            new_value=after.get("value"),
            old_note=before.get("note"),
            new_note=after.get("note"),
        )
        if change.value_changed or change.note_changed:
            diff.answers.append(change)

    old_notes, new_notes = _content(old).get("notes"), _content(new).get("notes")
    if (old_notes or None) != (new_notes or None):
        diff.notes = (old_notes, new_notes)
    old_outcome, new_outcome = _content(old).get("outcome"), _content(new).get("outcome")
    if old_outcome != new_outcome:
        diff.outcome = (old_outcome, new_outcome)

    old_findings = {f["id"]: f for f in old.get("findings") or []}
    new_findings = {f["id"]: f for f in new.get("findings") or []}
    diff.findings_added = [new_findings[k] for k in sorted(set(new_findings) - set(old_findings))]
    diff.findings_removed = [old_findings[k] for k in sorted(set(old_findings) - set(new_findings))]

    old_photos = {p["sha256"]: p for p in old.get("photos") or []}
    new_photos = {p["sha256"]: p for p in new.get("photos") or []}
    diff.photos_added = [new_photos[k] for k in sorted(set(new_photos) - set(old_photos))]
    diff.photos_removed = [old_photos[k] for k in sorted(set(old_photos) - set(new_photos))]

    old_signatures = {s["id"] for s in old.get("signatures") or []}
    diff.signatures_added = [s for s in new.get("signatures") or [] if s["id"] not in old_signatures]
    return diff

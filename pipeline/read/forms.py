"""Field and document-kind definitions, loaded from templates/forms/*.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..model import DocKind, Track
from .text import norm

FIELD_TYPES = ("text", "int", "number", "credit_code", "track")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    labels: tuple[str, ...]     # normalised
    type: str = "text"
    required: bool = False


@dataclass(frozen=True)
class FormSpec:
    kind: DocKind
    title: str
    fields: tuple[FieldSpec, ...]
    tracks: tuple[tuple[Track, tuple[str, ...]], ...]
    ticked: tuple[str, ...]
    unticked: tuple[str, ...]

    @property
    def all_labels(self) -> frozenset[str]:
        return frozenset(label for f in self.fields for label in f.labels)


@dataclass(frozen=True)
class KindRule:
    kind: DocKind
    title: tuple[str, ...]
    body: tuple[str, ...]


@dataclass(frozen=True)
class KindRules:
    title_chars: int
    rules: tuple[KindRule, ...]


class FormDefinitionError(ValueError):
    pass


@lru_cache(maxsize=8)
def load_form(path: Path) -> FormSpec:
    data = _yaml(path)
    try:
        fields = tuple(
            FieldSpec(key, tuple(norm(str(label)) for label in spec["labels"]), spec.get("type", "text"),
                      bool(spec.get("required", False)))
            for key, spec in data["fields"].items()
        )
        tracks = tuple((Track(t["track"]), tuple(norm(w) for w in t["words"])) for t in data["tracks"])
        spec = FormSpec(DocKind(data.get("kind", "form")), data.get("title", ""), fields, tracks,
                        tuple(data.get("ticked", ["☑"])), tuple(data.get("unticked", ["□"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormDefinitionError(f"{path}: malformed form definition ({exc!r})") from None
    for f in spec.fields:
        if f.type not in FIELD_TYPES or not f.labels:
            raise FormDefinitionError(f"{path}: field {f.key}: type must be one of {FIELD_TYPES} with labels")
    return spec


@lru_cache(maxsize=8)
def load_kinds(path: Path) -> KindRules:
    data = _yaml(path)
    try:
        rules = tuple(KindRule(DocKind(r["kind"]), tuple(norm(w) for w in r.get("title", [])),
                               tuple(norm(w) for w in r.get("body", []))) for r in data["kinds"])
        return KindRules(int(data.get("title_chars", 120)), rules)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormDefinitionError(f"{path}: malformed kind rules ({exc!r})") from None


def _yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormDefinitionError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise FormDefinitionError(f"{path}: expected a mapping")
    return data

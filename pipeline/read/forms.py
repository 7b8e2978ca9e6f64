"""Field, table and document-kind definitions, loaded from templates/forms/*.yaml."""
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
    labels: tuple[str, ...]     # normalised; the first is the one a clerk reads
    type: str = "text"
    required: bool = False
    name: str = ""              # as a clerk names it in corrections and the review list (YAML `name`)

    @property
    def label(self) -> str:
        return self.labels[0]


@dataclass(frozen=True)
class TrackOption:
    """One printed 申报类别 option: what follows its box on the form."""

    track: Track
    texts: tuple[str, ...]      # normalised


@dataclass(frozen=True)
class Marks:
    """Glyphs of a ticked and an empty box, as typed and as OCR reads them."""

    ticked: tuple[str, ...]
    unticked: tuple[str, ...]
    ocr_ticked: tuple[str, ...] = ()
    ocr_unticked: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.ticked + self.unticked + self.ocr_ticked + self.ocr_unticked


@dataclass(frozen=True)
class FormSpec:
    kind: DocKind
    title: str
    fields: tuple[FieldSpec, ...]
    tracks: tuple[tuple[Track, tuple[str, ...]], ...] = ()
    ticked: tuple[str, ...] = ("☑",)
    unticked: tuple[str, ...] = ("□",)
    options: tuple[TrackOption, ...] = ()
    ocr_ticked: tuple[str, ...] = ()
    ocr_unticked: tuple[str, ...] = ()
    other_labels: tuple[str, ...] = ()          # form labels that are not fields we read: never a value
    other_endings: tuple[str, ...] = ()         # …意见, …盖章: label cells by their last words

    @property
    def marks(self) -> Marks:
        return Marks(self.ticked, self.unticked, self.ocr_ticked, self.ocr_unticked)

    @property
    def required(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.required)


@dataclass(frozen=True)
class TableSpec:
    """A table of applicants, one per row (汇总表; a 推荐函 that lists its units in a table)."""

    kind: DocKind
    columns: tuple[FieldSpec, ...]
    name_key: str = "unit_name"
    index_key: str = "index"
    min_columns: int = 3                        # header cells that must be found to call it the table
    header: FormSpec | None = None              # label: value pairs around the table


@dataclass(frozen=True)
class LetterSpec:
    """How a 推荐函 names its applicants: numbered lines, or a table."""

    header: FormSpec
    table: TableSpec
    list_ends: tuple[str, ...]                  # normalised phrases after the list: 特此推荐…
    collective: tuple[str, ...]                 # 以下单位, 下列单位: not an applicant's name


@dataclass(frozen=True)
class KindRule:
    kind: DocKind
    title: tuple[str, ...]
    body: tuple[str, ...]
    body_min: int = 1


@dataclass(frozen=True)
class KindRules:
    title_chars: int
    rules: tuple[KindRule, ...]
    heading_chars: int = 40     # where a later page's own title must stand to start a new document


class FormDefinitionError(ValueError):
    pass


@dataclass(frozen=True)
class Forms:
    """Every definition the reader needs, loaded once per pass."""

    form: FormSpec
    kinds: KindRules
    audit: FormSpec | None = None
    summary: TableSpec | None = None
    letter: LetterSpec | None = None

    def page_labels(self) -> dict[DocKind, tuple[str, ...]]:
        """The labels a form's pages print, by kind (申请表, 审验表): what tells its later pages from
        what was scanned after it (classify.split)."""
        specs = [s for s in (self.form, self.audit) if s is not None]
        return {s.kind: tuple(dict.fromkeys(w for f in s.fields for w in f.labels)) + s.other_labels for s in specs}

    @classmethod
    def load(cls, templates_dir: Path) -> Forms:
        d = Path(templates_dir) / "forms"
        return cls(load_form(d / "annex1.yaml"), load_kinds(d / "kinds.yaml"),
                   load_form(d / "annex5.yaml") if (d / "annex5.yaml").exists() else None,
                   load_table(d / "summary.yaml") if (d / "summary.yaml").exists() else None,
                   load_letter(d / "letter.yaml") if (d / "letter.yaml").exists() else None)


def _fields(path: Path, data: dict, key: str = "fields") -> tuple[FieldSpec, ...]:
    fields = tuple(
        FieldSpec(k, tuple(norm(str(label)) for label in spec["labels"]), spec.get("type", "text"),
                  bool(spec.get("required", False)), str(spec.get("name") or (spec["labels"] or [""])[0]))
        for k, spec in (data.get(key) or {}).items()
    )
    for f in fields:
        if f.type not in FIELD_TYPES or not f.labels:
            raise FormDefinitionError(f"{path}: field {f.key}: type must be one of {FIELD_TYPES} with labels")
    return fields


def _form(path: Path, data: dict) -> FormSpec:
    try:
        tracks = tuple((Track(t["track"]), tuple(norm(w) for w in t["words"])) for t in data.get("tracks", []))
        options = tuple(TrackOption(Track(o["track"]), tuple(norm(w) for w in o["text"]))
                        for o in data.get("options", []))
        other = data.get("other_labels") or {}
        return FormSpec(DocKind(data.get("kind", "form")), data.get("title", ""), _fields(path, data), tracks,
                        tuple(data.get("ticked", ["☑"])), tuple(data.get("unticked", ["□"])), options,
                        tuple(data.get("ocr_ticked", [])), tuple(data.get("ocr_unticked", [])),
                        tuple(norm(w) for w in other.get("labels", [])),
                        tuple(norm(w) for w in other.get("endings", [])))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FormDefinitionError(f"{path}: malformed form definition ({exc!r})") from None


@lru_cache(maxsize=8)
def load_form(path: Path) -> FormSpec:
    return _form(path, _yaml(path))


@dataclass(frozen=True)
class FieldNames:
    """The application form's fields as a clerk names and corrects them: keys, names, every label as a
    synonym, and which take whole or any numbers. From templates/forms/annex1.yaml alone, the same
    definitions the reader anchors on; `applicant` is the unit's name as the round knows it."""

    fields: tuple[FieldSpec, ...]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({f.key for f in self.fields} | {"applicant"})

    def spec(self, key: str) -> FieldSpec | None:
        key = "unit_name" if key == "applicant" else key
        return next((f for f in self.fields if f.key == key), None)

    def name(self, key: str) -> str:
        spec = self.spec(key)
        return spec.name if spec else key

    def key_for(self, word: str) -> str | None:
        """The key a clerk means by a key, a field's name or any of its labels."""
        if word in self.keys:
            return word
        wanted = norm(word)
        for f in self.fields:
            if word == f.name or wanted in f.labels:
                return f.key
        return None

    def named_in(self, text: str) -> set[str]:
        """The fields a finding's text names (by the name a clerk reads or the label the reader reports)."""
        return {f.key for f in self.fields if f.name in text or f.label in text}


def field_names(templates_dir: Path) -> FieldNames:
    return FieldNames(load_form(Path(templates_dir) / "forms" / "annex1.yaml").fields)


def _table(path: Path, data: dict) -> TableSpec:
    try:
        columns = _fields(path, data, "columns")
        header = _form(path, {"kind": data.get("kind", "summary"), "fields": data["header"]}) \
            if data.get("header") else None
        spec = TableSpec(DocKind(data.get("kind", "summary")), columns, data.get("name_column", "unit_name"),
                         data.get("index_column", "index"), int(data.get("min_columns", 3)), header)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FormDefinitionError(f"{path}: malformed table definition ({exc!r})") from None
    if spec.name_key not in {c.key for c in columns}:
        raise FormDefinitionError(f"{path}: name_column {spec.name_key} is not one of the columns")
    return spec


@lru_cache(maxsize=8)
def load_table(path: Path) -> TableSpec:
    return _table(path, _yaml(path))


@lru_cache(maxsize=8)
def load_letter(path: Path) -> LetterSpec:
    data = _yaml(path)
    try:
        header = _form(path, {"kind": "letter", "fields": data.get("header", {})})
        table = _table(path, {"kind": "letter", **data["table"]})
        return LetterSpec(header, table, tuple(norm(w) for w in data.get("list_ends", [])),
                          tuple(norm(w) for w in data.get("collective", [])))
    except (KeyError, TypeError, AttributeError) as exc:
        raise FormDefinitionError(f"{path}: malformed letter definition ({exc!r})") from None


@lru_cache(maxsize=8)
def load_kinds(path: Path) -> KindRules:
    data = _yaml(path)
    try:
        rules = tuple(KindRule(DocKind(r["kind"]), tuple(norm(w) for w in r.get("title", [])),
                               tuple(norm(w) for w in r.get("body", [])), int(r.get("body_min", 1)))
                      for r in data["kinds"])
        return KindRules(int(data.get("title_chars", 120)), rules, int(data.get("heading_chars", 40)))
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

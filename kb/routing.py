"""The escalation flow as configuration: levels, contacts, rules (level × category → contacts).

The file lives in the instance directory (``routing.yaml``). It is validated as a whole when it
is loaded, and every error names the key it is about, e.g. ``rules[2].backup: 連絡先 'sv' が
contacts にありません``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

DEFAULT_FILE = Path(__file__).resolve().parent / "default_routing.yaml"
ANY_CATEGORY = "*"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class RoutingError(ValueError):
    """The routing file is unusable; ``problems`` lists every error as ``key: message``."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=50)
    acknowledge_minutes: int = Field(gt=0, le=60 * 24 * 30)
    answer_minutes: int = Field(gt=0, le=60 * 24 * 90)

    @field_validator("answer_minutes")
    @classmethod
    def _answer_after_acknowledge(cls, value: int, info: ValidationInfo) -> int:
        acknowledge = info.data.get("acknowledge_minutes")  # absent when itself invalid
        if acknowledge is not None and value < acknowledge:
            raise ValueError("answer_minutes は acknowledge_minutes 以上にしてください")
        return value


class Hours(_Strict):
    """When a contact can be reached, in the center's time zone. An ``end`` earlier than
    ``start`` runs past midnight (22:00–06:00); ``days`` are the days a period starts on."""

    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = DAYS[:5]
    start: str = "09:00"
    end: str = "18:00"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str, info: ValidationInfo) -> str:
        if not _HHMM.match(value):
            raise ValueError("時刻は HH:MM で書いてください")
        if info.field_name == "end" and value == info.data.get("start"):
            raise ValueError("start と end が同じです（終日なら hours を書かないでください）")
        return value

    def contains(self, local: datetime) -> bool:
        time = local.strftime("%H:%M")
        today = DAYS[local.weekday()] in self.days
        if self.start < self.end:
            return today and self.start <= time < self.end
        yesterday = DAYS[(local.weekday() - 1) % 7] in self.days
        return (today and time >= self.start) or (yesterday and time < self.end)


class Contact(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    channel: Literal["mail", "chat", "phone"]
    address: str = Field(min_length=1, max_length=500)
    hours: Hours | None = None  # None: always reachable

    @field_validator("address")
    @classmethod
    def _address_fits_channel(cls, value: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")  # absent when itself invalid
        if channel == "mail" and not re.match(r"^[^@\s]+@[^@\s]+$", value):
            raise ValueError("mail の address はメールアドレスにしてください")
        if channel == "chat" and not re.match(r"^https?://", value):
            raise ValueError("chat の address は http(s):// の URL にしてください")
        return value


def _review_date(value: str | None) -> str | None:
    """A ``reviewed`` date must be a real YYYY-MM-DD date."""
    if value is not None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"日付は YYYY-MM-DD で書いてください（{value!r}）") from None
    return value


class Rule(_Strict):
    level: str
    category: str = ANY_CATEGORY
    primary: str
    backup: str | None = None
    reviewed: str | None = None  # this rule's last review; the file's ``reviewed`` otherwise

    _reviewed = field_validator("reviewed")(_review_date)


class Smtp(_Strict):
    host: str = "localhost"
    port: int = Field(default=25, gt=0, lt=65536)
    sender: str = "kotae@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None


class Routing(_Strict):
    timezone: str = "Asia/Tokyo"
    reviewed: str | None = None  # when the rules were last reviewed (YYYY-MM-DD)
    smtp: Smtp = Smtp()
    levels: tuple[Level, ...] = Field(min_length=1)
    contacts: tuple[Contact, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = Field(min_length=1)

    _reviewed = field_validator("reviewed")(_review_date)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"不明なタイムゾーン {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def level(self, level_id: str) -> Level | None:
        return next((lv for lv in self.levels if lv.id == level_id), None)

    def contact(self, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.id == contact_id), None)

    def rule_for(self, level_id: str, category: str | None) -> Rule:
        """The rule for this level and category, else the level's ``*`` rule."""
        exact = [r for r in self.rules if r.level == level_id and r.category == category]
        fallback = [r for r in self.rules if r.level == level_id and r.category == ANY_CATEGORY]
        return (exact or fallback)[0]

    def reviewed_on(self, rule: Rule) -> date | None:
        """When the rule was last reviewed: its own ``reviewed``, else the file's."""
        value = rule.reviewed or self.reviewed
        return date.fromisoformat(value) if value else None

    def local(self, now: datetime) -> datetime:
        """A stored time (naive UTC) as the clock at the center shows it."""
        return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.zone)

    def today(self, now: datetime) -> date:
        """The date at the center."""
        return self.local(now).date()

    def route(self, level_id: str, category: str | None, now: datetime) -> Route:
        """Whom to tell first: the primary contact, or the backup when the primary is outside
        business hours and the backup is not."""
        rule = self.rule_for(level_id, category)
        primary = self.contact(rule.primary)
        backup = self.contact(rule.backup) if rule.backup else None
        local = self.local(now)
        if backup and not _reachable(primary, local) and _reachable(backup, local):
            return Route(backup, None, skipped_primary=primary)
        return Route(primary, backup)


@dataclass(frozen=True)
class Route:
    contact: Contact
    backup: Contact | None
    skipped_primary: Contact | None = None


def _reachable(contact: Contact, local: datetime) -> bool:
    return contact.hours is None or contact.hours.contains(local)


def _check_references(routing: Routing) -> list[str]:
    problems = []
    level_ids = [lv.id for lv in routing.levels]
    contact_ids = [c.id for c in routing.contacts]
    for what, ids in (("levels", level_ids), ("contacts", contact_ids)):
        for i, item_id in enumerate(ids):
            if item_id in ids[:i]:
                problems.append(f"{what}[{i}].id: {item_id!r} が重複しています")
    for i, rule in enumerate(routing.rules):
        if rule.level not in level_ids:
            problems.append(f"rules[{i}].level: レベル {rule.level!r} が levels にありません")
        for key in ("primary", "backup"):
            contact_id = getattr(rule, key)
            if contact_id is not None and contact_id not in contact_ids:
                problems.append(f"rules[{i}].{key}: 連絡先 {contact_id!r} が contacts にありません")
    for level_id in level_ids:
        if not any(r.level == level_id and r.category == ANY_CATEGORY for r in routing.rules):
            problems.append(f"rules: レベル {level_id!r} に category '*' のルールがありません")
    return problems


def _key(location: tuple) -> str:
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(全体)"


def parse(text: str, source: Path | str = "routing.yaml") -> Routing:
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)  # every scalar stays a string
    except yaml.YAMLError as error:
        raise RoutingError(source, [f"(YAML): 読み取れません: {error}"]) from None
    if not isinstance(data, dict):
        raise RoutingError(source, ["(全体): YAML のマッピングにしてください"])
    try:
        routing = Routing.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{_key(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        ]
        raise RoutingError(source, problems) from None
    problems = _check_references(routing)
    if problems:
        raise RoutingError(source, problems)
    return routing


def load(path: Path | str) -> Routing:
    """The routing file at ``path``; the shipped default when there is none yet."""
    path = Path(path)
    source = path if path.exists() else DEFAULT_FILE
    return parse(source.read_text(encoding="utf-8"), source)


def deadlines(level: Level, start: datetime) -> tuple[datetime, datetime]:
    return (start + timedelta(minutes=level.acknowledge_minutes),
            start + timedelta(minutes=level.answer_minutes))

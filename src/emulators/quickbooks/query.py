"""QBO's query language (Intuit "Query operations and syntax", §4.7).

SELECT * | COUNT(*) | f1, f2 FROM Entity [WHERE c [AND c]...] [ORDERBY f [ASC|DESC], ...]
[STARTPOSITION n] [MAXRESULTS n]. Keywords, names and values are case-insensitive; ``\\'``
escapes a quote. No OR, JOIN or GROUP BY.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from . import faults
from .clock import parse_datetime

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "ORDERBY",
    "ASC",
    "DESC",
    "STARTPOSITION",
    "MAXRESULTS",
    "IN",
    "LIKE",
    "COUNT",
}
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Token:
    kind: str  # string | number | op | punct | ident | keyword | eof
    value: str
    column: int


@dataclass
class Condition:
    field: str
    op: str  # = < > <= >= IN LIKE
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list[str] | None = None  # None = all
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = 100


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        match = TOKEN_RE.match(text, pos)
        if match is None:
            raise faults.query_parser(
                f"Invalid content. Lexical error at line 1, column {pos + 1}. "
                f'Encountered: "{text[pos]}"'
            )
        kind = match.lastgroup or ""
        value = match.group()
        if kind != "ws":
            if kind == "ident" and value.upper() in KEYWORDS:
                out.append(Token("keyword", value.upper(), pos + 1))
            elif kind == "string":
                out.append(Token("string", re.sub(r"\\(.)", r"\1", value[1:-1]), pos + 1))
            else:
                out.append(Token(kind, value, pos + 1))
        pos = match.end()
    out.append(Token("eof", "<EOF>", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def fail(self, tok: Token) -> faults.QBOError:
        shown = tok.value if tok.kind != "string" else f"'{tok.value}'"
        return faults.query_parser(f'Encountered " {shown} " at line 1, column {tok.column}.')

    def expect_keyword(self, word: str) -> Token:
        tok = self.take()
        if tok.kind != "keyword" or tok.value != word:
            raise self.fail(tok)
        return tok

    def accept(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        if tok.kind == kind and (value is None or tok.value == value):
            self.take()
            return True
        return False

    def ident(self) -> str:
        tok = self.take()
        if tok.kind != "ident":
            raise self.fail(tok)
        return tok.value

    def integer(self) -> int:
        tok = self.take()
        if tok.kind != "number" or "." in tok.value:
            raise self.fail(tok)
        return int(tok.value)

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            return tok.value
        if tok.kind == "number":
            return Decimal(tok.value)
        if tok.kind == "ident" and tok.value.lower() in ("true", "false"):
            return tok.value.lower() == "true"
        if tok.kind == "ident" and tok.value.upper() == "CURRENT_DATE":
            return _CurrentDate()
        raise self.fail(tok)

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count = False
        fields: list[str] | None = []
        if self.accept("keyword", "COUNT"):
            if not (self.accept("punct", "(") and self.accept("punct", "*")):
                raise self.fail(self.peek())
            if not self.accept("punct", ")"):
                raise self.fail(self.peek())
            count = True
            fields = None
        else:
            star = False
            while True:
                if self.accept("punct", "*"):
                    star = True
                else:
                    assert fields is not None
                    fields.append(self.ident())
                if not self.accept("punct", ","):
                    break
            if star:
                fields = None
        self.expect_keyword("FROM")
        query = Query(entity=self.ident(), count=count, fields=fields)
        if self.accept("keyword", "WHERE"):
            query.where.append(self.condition())
            while self.accept("keyword", "AND"):
                query.where.append(self.condition())
        if self.accept("keyword", "ORDERBY"):
            while True:
                name = self.ident()
                descending = False
                if self.accept("keyword", "DESC"):
                    descending = True
                else:
                    self.accept("keyword", "ASC")
                query.order.append((name, descending))
                if not self.accept("punct", ","):
                    break
        seen: set[str] = set()
        while self.peek().kind == "keyword" and self.peek().value in (
            "STARTPOSITION",
            "MAXRESULTS",
        ):
            word = self.take().value
            if word in seen:
                raise self.fail(self.tokens[self.pos - 1])
            seen.add(word)
            number = self.integer()
            if word == "STARTPOSITION":
                query.start = number
            else:
                query.max_results = number
        tok = self.peek()
        if tok.kind != "eof":
            raise self.fail(tok)
        return query

    def condition(self) -> Condition:
        name = self.ident()
        tok = self.take()
        if tok.kind == "op":
            if tok.value in ("!=", "<>"):
                raise self.fail(tok)  # QBO has no inequality operator
            return Condition(name, tok.value, [self.value()])
        if tok.kind == "keyword" and tok.value == "IN":
            if not self.accept("punct", "("):
                raise self.fail(self.peek())
            values = [self.value()]
            while self.accept("punct", ","):
                values.append(self.value())
            if not self.accept("punct", ")"):
                raise self.fail(self.peek())
            return Condition(name, "IN", values)
        if tok.kind == "keyword" and tok.value == "LIKE":
            pattern = self.take()
            if pattern.kind != "string":
                raise self.fail(pattern)
            return Condition(name, "LIKE", [pattern.value])
        raise self.fail(tok)


class _CurrentDate:
    """CURRENT_DATE, resolved at evaluation time."""


def parse(text: str) -> Query:
    return _Parser(text).parse()


# ---------------------------------------------------------------- evaluation


def _get(obj: Any, path: str) -> Any:
    current = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        lowered = part.lower()
        match = next((k for k in current if k.lower() == lowered), None)
        if match is None:
            return None
        current = current[match]
    if isinstance(current, dict):
        # Refs compare by their value; single-value wrappers by their one field, so
        # `PrimaryEmailAddr = 'a@b.c'` matches as the reference documents (§6).
        for key in ("value", "Address", "FreeFormNumber", "URI"):
            if key in current:
                return current[key]
    return current


class _Comparator:
    def __init__(self, tz: tzinfo, today: str) -> None:
        self.tz = tz
        self.today = today

    def normalize(self, stored: Any, literal: Any) -> tuple[Any, Any] | None:
        if isinstance(literal, _CurrentDate):
            literal = self.today
        if stored is None:
            return None
        if isinstance(literal, bool) or isinstance(stored, bool):
            return str(stored).lower(), str(literal).lower()
        if isinstance(stored, int | float | Decimal) or isinstance(literal, Decimal):
            try:
                return Decimal(str(stored)), Decimal(str(literal))
            except InvalidOperation:
                return str(stored).casefold(), str(literal).casefold()
        text = str(stored)
        lit = str(literal)
        if DATETIME_RE.match(text) or (DATE_RE.match(text) and DATETIME_RE.match(lit)):
            try:
                return parse_datetime(text, self.tz), parse_datetime(lit, self.tz)
            except ValueError:
                pass
        return text.casefold(), lit.casefold()

    def test(self, obj: Any, cond: Condition) -> bool:
        stored = _get(obj, cond.field)
        if cond.op == "LIKE":
            if stored is None:
                return False
            pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in cond.values[0])
            return re.fullmatch(pattern, str(stored), re.IGNORECASE | re.DOTALL) is not None
        for literal in cond.values:
            pair = self.normalize(stored, literal)
            if pair is None:
                continue
            left, right = pair
            try:
                if cond.op in ("=", "IN"):
                    ok = left == right
                elif cond.op == "<":
                    ok = left < right
                elif cond.op == ">":
                    ok = left > right
                elif cond.op == "<=":
                    ok = left <= right
                else:
                    ok = left >= right
            except TypeError:
                ok = False
            if ok:
                return True
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, "")
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, int | float | Decimal):
        return (0, Decimal(str(value)))
    text = str(value)
    if text.isdigit():
        return (0, Decimal(text))
    return (1, text.casefold())


def run_query(
    text: str,
    canonical: Callable[[str], tuple[str, bool] | None],
    rows_for: Callable[[str], list[dict[str, Any]] | None],
    tz: tzinfo,
    max_limit: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Evaluate a query; returns the ``QueryResponse`` body."""
    if not text or not text.strip():
        raise faults.query_parser('Encountered "<EOF>" at line 1, column 1.')
    query = parse(text)
    resolved = canonical(query.entity)
    if resolved is None:
        raise faults.query_validation(f"Invalid context declaration : {query.entity}")
    entity, name_list = resolved
    if query.max_results > max_limit:
        raise faults.query_validation(
            f"value {query.max_results} is too large. Max allowed value is {max_limit}"
        )
    if query.max_results < 1 or query.start < 1:
        raise faults.query_validation("STARTPOSITION and MAXRESULTS must be positive")
    for cond in query.where:
        if cond.field.lower() == "id" and cond.op not in ("=", "IN"):
            raise faults.query_validation(f"Operator {cond.op} is not supported for property Id")
    rows = rows_for(entity) or []
    today = (now or datetime.now(tz)).astimezone(tz).date().isoformat()
    comparator = _Comparator(tz, today)
    if name_list and not any(c.field.lower() == "active" for c in query.where):
        rows = [r for r in rows if r.get("Active", True) is not False]
    rows = [r for r in rows if all(comparator.test(r, c) for c in query.where)]
    rows.sort(key=lambda r: _sort_key(r.get("Id")))
    for name, descending in reversed(query.order):
        rows.sort(key=lambda r, n=name: _sort_key(_get(r, n)), reverse=descending)
    if query.count:
        return {"totalCount": len(rows)}
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    if query.fields is not None:
        wanted = [f.lower() for f in query.fields]
        # [U] projected rows: QBO returns the chosen fields; we add the usual system members.
        page = [
            {
                **{k: v for k, v in row.items() if k.lower() in wanted},
                "domain": "QBO",
                "sparse": True,
            }
            for row in page
        ]
    return {entity: page, "startPosition": query.start, "maxResults": len(page)}

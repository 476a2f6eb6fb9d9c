"""The catalog of reasons, metadata keys and message codes: well-formed, complete, and the only
place they are spelled (the rest of the code imports them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from application.errors import NotFoundError
from application.reasons import (
    MAX_REASON_LENGTH,
    MetadataKey,
    Reason,
    ResourceType,
    every_reason,
    not_found_reason,
)
from domain.errors import (
    CurrencyMismatchError,
    DomainReason,
    FieldViolation,
    InvalidStateTransitionError,
)
from domain.messages import ENGLISH, MessageCode, english
from domain.money import Money

ROOT = Path(__file__).resolve().parents[3]
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
LOWER_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")

# Where a catalogued value may be written out: the catalogs themselves. The emulators stand
# alone by design (they share no code with the product) and speak the vendors' own codes.
CATALOGS = {"src/application/reasons.py", "src/domain/errors.py", "src/domain/messages.py"}
NOT_PRODUCT = ("src/dealbooks/", "src/emulators/", "tests/emulators/")


def test_reasons_are_upper_snake_and_their_own_name() -> None:
    for enum in (Reason, DomainReason):
        for member in enum:
            assert member.value == member.name
            assert UPPER_SNAKE.match(member.value), member
            assert len(member.value) <= MAX_REASON_LENGTH, member


def test_no_reason_is_catalogued_twice() -> None:
    assert not {r.value for r in Reason} & {r.value for r in DomainReason}


def test_message_codes_are_upper_snake_and_have_their_english() -> None:
    for code in MessageCode:
        assert code.value == code.name
        assert UPPER_SNAKE.match(code.value), code
    assert set(ENGLISH) == set(MessageCode)


def test_metadata_keys_are_lower_camel_case() -> None:
    for key in MetadataKey:
        assert LOWER_CAMEL.match(key.value), key
        assert len(key.value) <= 64


def test_every_resource_type_has_its_not_found_reason() -> None:
    for resource in ResourceType:
        reason = not_found_reason(resource)
        assert reason == f"{resource.value.upper()}_NOT_FOUND"
        assert reason in Reason.__members__
        assert NotFoundError(resource, "x").reason == reason


def test_an_uncatalogued_resource_type_is_plainly_not_found() -> None:
    assert NotFoundError("gadget", "g-1").reason == Reason.NOT_FOUND


def test_the_domains_metadata_keys_are_catalogued() -> None:
    keys = set(InvalidStateTransitionError("inv-1", "PAID", "void").metadata)
    try:
        Money.of("1", "EUR") + Money.of("1", "USD")
    except CurrencyMismatchError as err:
        keys |= set(err.metadata)
    assert keys
    assert keys <= {k.value for k in MetadataKey}


def test_a_violation_reads_its_english_from_its_code_and_parameters() -> None:
    violation = FieldViolation.of("memo", MessageCode.TOO_LONG, max=1000)

    assert violation.params == {"max": "1000"}
    assert violation.description == "Must be at most 1000 characters long."
    assert english(MessageCode.MAPPING_FIELD_EMPTY, {"field": "tax_id", "source": "deal.vat"}) == (
        "Tax ID: deal.vat is empty on this deal."
    )


# -- the catalog is the only place the values are written --------------------------------------


def _python_files() -> list[Path]:
    return [
        p
        for folder in ("src", "tests")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if not str(p.relative_to(ROOT)).startswith(NOT_PRODUCT)
    ]


def _is_metadata(node: ast.expr) -> bool:
    """``metadata`` or ``<anything>.metadata``: an error's metadata."""
    return getattr(node, "id", None) == "metadata" or getattr(node, "attr", None) == "metadata"


def _metadata_keys(node: ast.AST) -> list[tuple[int, object]]:
    """Keys written out where metadata is built, changed, read or compared: ``metadata={...}``,
    ``metadata = {...}``, ``metadata[...]``, ``metadata.get/pop/setdefault(...)``,
    ``metadata.update(...)`` (its dict's keys and its keyword names) and ``metadata == {...}``."""

    def written(*exprs: ast.expr | None) -> list[tuple[int, object]]:
        return [(e.lineno, e.value) for e in exprs if isinstance(e, ast.Constant)]

    if (
        isinstance(node, ast.keyword)
        and node.arg == "metadata"
        and isinstance(node.value, ast.Dict)
    ):
        return written(*node.value.keys)
    if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return written(*node.value.keys) if any(_is_metadata(t) for t in targets) else []
    if isinstance(node, ast.Subscript) and _is_metadata(node.value):
        return written(node.slice)
    if isinstance(node, ast.Compare) and _is_metadata(node.left):
        return written(*(k for c in node.comparators if isinstance(c, ast.Dict) for k in c.keys))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and _is_metadata(node.func.value)
    ):
        if node.func.attr in ("get", "pop", "setdefault") and node.args:
            return written(node.args[0])
        if node.func.attr == "update":
            keys = [k for a in node.args if isinstance(a, ast.Dict) for k in a.keys]
            return written(*keys) + [(node.lineno, k.arg) for k in node.keywords if k.arg]
    return []


def _spelled_out(path: Path) -> list[str]:
    # The domain cannot import the catalog; it and its own tests spell its catalogued keys.
    in_domain = str(path.relative_to(ROOT)).startswith(("src/domain/", "tests/unit/domain/"))
    return _spelled_in(path.read_text(encoding="utf-8"), in_domain=in_domain)


def _spelled_in(source: str, *, in_domain: bool) -> list[str]:
    """Catalogued values written as literals in ``source``: reasons and message codes anywhere,
    catalogued resource types given to ``NotFoundError``, and metadata keys wherever metadata
    is built, changed, read or compared (the domain may spell the catalogued keys)."""
    catalogued = set(every_reason()) | {c.value for c in MessageCode}
    keys = {k.value for k in MetadataKey}
    resource_types = {r.value for r in ResourceType}
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in catalogued:
            parent = parents.get(node)
            # gRPC status code names (INTERNAL, NOT_FOUND ...) are not reasons.
            if isinstance(parent, ast.Call) and getattr(parent.func, "id", "") == "CatalogEntry":
                continue
            if isinstance(parent, ast.Assign) and [
                getattr(t, "id", "") for t in parent.targets
            ] == ["code"]:
                continue
            found.append(f"{node.lineno}: {node.value!r}")
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "NotFoundError"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in resource_types
        ):
            found.append(f"{node.lineno}: resource type {node.args[0].value!r}")
        for lineno, key in _metadata_keys(node):
            if not (in_domain and key in keys):
                found.append(f"{lineno}: metadata key {key!r}")
    return found


def test_the_guard_finds_keys_wherever_metadata_is_written_read_or_compared() -> None:
    source = """
error = ApplicationError("m", reason="PIPEDRIVE_BLOCKED", metadata={"company": "c"})
error.metadata.update(vendor_code="1")
error.metadata.update({"intuit_tid": "t"})
metadata: dict[str, str] = {"http_status": "400"}
metadata["path"] = "/x"
error.metadata.get("detail")
assert error.metadata == {"element": "E"}
raise NotFoundError("deal", "1")
raise NotFoundError("gadget", "g-1")
body.get("error")
"""
    found = {line.split(": ", 1)[1] for line in _spelled_in(source, in_domain=False)}

    assert found == {
        "'PIPEDRIVE_BLOCKED'",
        "metadata key 'company'",
        "metadata key 'vendor_code'",
        "metadata key 'intuit_tid'",
        "metadata key 'http_status'",
        "metadata key 'path'",
        "metadata key 'detail'",
        "metadata key 'element'",
        "resource type 'deal'",
    }
    assert _spelled_in('metadata={"state": "PAID"}', in_domain=True) == []


def test_reasons_codes_and_metadata_keys_are_only_spelled_in_the_catalog() -> None:
    spelled = {
        str(path.relative_to(ROOT)): lines
        for path in _python_files()
        if str(path.relative_to(ROOT)) not in CATALOGS and (lines := _spelled_out(path))
    }
    assert spelled == {}


def test_no_published_reason_code_or_key_is_renamed_or_removed() -> None:
    published = {
        tuple(line.split(" ", 1))
        for line in (Path(__file__).with_name("published_codes.txt")).read_text().splitlines()
        if line and not line.startswith("#")
    }
    catalog = {
        *(("reason", r) for r in every_reason()),
        *(("code", c.value) for c in MessageCode),
        *(("key", k.value) for k in MetadataKey),
    }
    assert published - catalog == set()  # renamed or removed: clients still match on them
    assert catalog - published == set()  # new: add it to published_codes.txt, deliberately

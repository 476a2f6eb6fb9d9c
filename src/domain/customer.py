"""Customer: who an invoice is addressed to, as a snapshot of the details used on the invoice."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Final

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from domain.validation import checked_text, optional_text

DISPLAY_NAME_MAX: Final = 100
EMAIL_MAX: Final = 100
TAX_ID_MAX: Final = 100
EXTERNAL_ID_MAX: Final = 64
ADDRESS_PART_MAX: Final = 500
POSTAL_CODE_MAX: Final = 30

_WHITESPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEPARATORS = re.compile(r"[,;]")


def is_plausible_email(value: str) -> bool:
    """A loose check: one ``@``, a dot inside the domain, no spaces, at most 100 characters."""
    if len(value) > EMAIL_MAX or not _EMAIL.match(value):
        return False
    domain = value.rsplit("@", 1)[1]
    return not (domain.startswith(".") or domain.endswith(".") or ".." in domain)


def email_addresses(text: str | None) -> list[str]:
    """The addresses of an email field: separated by commas or semicolons, stripped."""
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


def email_list(value: object, name: str, limit: int, violations: list[FieldViolation]) -> str:
    """Addresses separated by commas or semicolons, each checked, as QuickBooks keeps several
    in one email field (``"a@example.com, b@example.com"``, at most ``limit`` characters;
    "" for none).

    [O] QuickBooks' own forms take several addresses separated by commas, in a customer's and
    an invoice's email as in CC/BCC, 100 characters in all for the first two (integrators'
    help pages); Intuit's entity reference still says "only one e-mail address" for BillEmail.
    """
    addresses = email_addresses(checked_text(value, name, 10_000, violations))
    joined = ", ".join(addresses)
    if len(joined) > limit:
        violations.append(FieldViolation.of(name, MessageCode.TOO_LONG, max=limit))
        return joined
    for address in addresses:
        if not is_plausible_email(address):
            violations.append(FieldViolation.of(name, MessageCode.NOT_AN_EMAIL, value=address[:80]))
    return joined


def email_recipients(email: str | None, cc: str = "") -> tuple[str | None, str]:
    """Whom QuickBooks emails an invoice to: the first of the customer's addresses, and CC
    to its others, then ``cc``, each once. BillEmail takes "only one e-mail address", and an
    address it cannot use is skipped without an error (reference §3.2, pitfall 21 [C]); CC
    takes several (BillEmailCc, 200 characters)."""
    addresses = email_addresses(email)
    seen: set[str] = set()
    unique = []
    for address in [*addresses, *email_addresses(cc)]:
        if address.casefold() not in seen:
            seen.add(address.casefold())
            unique.append(address)
    if not addresses:
        return None, ", ".join(unique)
    return unique[0], ", ".join(unique[1:])


def casefolded_emails(text: str | None) -> set[str]:
    """An email field's addresses, to compare in any order and case."""
    return {address.casefold() for address in email_addresses(text)}


def _normalized(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip().casefold()


# QuickBooks does not give a tax registration number back: PrimaryTaxIdentifier "is masked in
# responses, exposing only last five characters" ("XXXXXX56789"), and the difference is not a
# change to sync (reference §6 [C], §13.13). So a masked value is the same as ours when the last
# five characters match, and it is never offered as a value nor sent back. [U] The reference's
# samples show six X's; whether their number follows the length is not documented, so any run
# of X's before exactly five characters counts as a mask.
_MASKED_TAX_ID = re.compile(r"X+(.{5})", re.DOTALL)


def _masked_tail(tax_id: str) -> str | None:
    """The five characters a masked tax id shows, or None when ``tax_id`` is not masked."""
    masked = _MASKED_TAX_ID.fullmatch(tax_id)
    return masked.group(1) if masked else None


def _same_tax_id(ours: str, theirs: str | None) -> bool:
    if _masked_tail(ours) is not None:
        return True  # ours is only a mask: nothing known to copy
    if theirs is None:
        return False
    tail = _masked_tail(theirs)
    if tail is not None:
        return ours[-5:].casefold() == tail.casefold()
    return _normalized(ours) == _normalized(theirs)


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address, as parts or as one ``formatted`` string (either or both may be set)."""

    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    formatted: str = ""

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        for f in fields(self):
            limit = POSTAL_CODE_MAX if f.name == "postal_code" else ADDRESS_PART_MAX
            text = checked_text(getattr(self, f.name), f.name, limit, violations)
            object.__setattr__(self, f.name, text)
        if violations:
            raise InvalidValueError.many(violations)

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def one_line(self) -> str:
        """The formatted address when set, else the non-empty parts joined by commas."""
        if self.formatted:
            return _WHITESPACE.sub(" ", self.formatted)
        parts = (self.line1, self.line2, self.city, self.region, self.postal_code, self.country)
        return ", ".join(_WHITESPACE.sub(" ", p) for p in parts if p)

    def same_place_as(self, other: Address | None) -> bool:
        """True when both read the same once case and spacing are ignored."""
        if other is None:
            return self.is_empty()
        return _normalized(self.one_line()) == _normalized(other.one_line())


@dataclass(frozen=True, slots=True)
class Customer:
    """The invoice's customer. Text is stripped; an empty email, tax id or address counts as
    absent. ``shipping_address``: where the goods or services go (QuickBooks' ShipAddr), when
    not the billing address; with automated sales tax, QuickBooks taxes for it."""

    display_name: str
    email: str | None = None
    billing_address: Address | None = None
    tax_id: str | None = None
    quickbooks_id: str | None = None
    shipping_address: Address | None = None

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        name = self.display_name.strip() if isinstance(self.display_name, str) else None
        if not name:
            violations.append(FieldViolation("display_name", MessageCode.CUSTOMER_NAME_REQUIRED))
        elif len(name) > DISPLAY_NAME_MAX:
            violations.append(
                FieldViolation.of(
                    "display_name",
                    MessageCode.TOO_LONG_FOR_QUICKBOOKS,
                    max=DISPLAY_NAME_MAX,
                    length=len(name),
                )
            )
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):  # control characters
            violations.append(FieldViolation("display_name", MessageCode.NOT_ONE_LINE))
        # One address or several, as QuickBooks takes them on a customer and an invoice
        # (PrimaryEmailAddr, BillEmail: 100 characters in all).
        email = None
        if self.email is not None:
            email = email_list(self.email, "email", EMAIL_MAX, violations) or None
        tax_id = optional_text(self.tax_id, "tax_id", TAX_ID_MAX, violations)
        qb_id = optional_text(self.quickbooks_id, "quickbooks_id", EXTERNAL_ID_MAX, violations)
        for kind in ("billing_address", "shipping_address"):
            address = getattr(self, kind)
            if address is not None and not isinstance(address, Address):
                violations.append(FieldViolation(kind, MessageCode.NOT_AN_ADDRESS))
        if violations:
            raise InvalidValueError.many(violations)
        object.__setattr__(self, "display_name", name)
        object.__setattr__(self, "email", email)
        object.__setattr__(self, "tax_id", tax_id)
        object.__setattr__(self, "quickbooks_id", qb_id)
        for kind in ("billing_address", "shipping_address"):
            if getattr(self, kind) is not None and getattr(self, kind).is_empty():
                object.__setattr__(self, kind, None)

    @classmethod
    def restore(
        cls,
        *,
        display_name: str,
        email: str | None,
        billing_address: Address | None,
        tax_id: str | None,
        quickbooks_id: str | None,
        shipping_address: Address | None = None,  # absent in invoices stored before it existed
    ) -> Customer:
        """A customer as it was stored once it had passed the checks: nothing is checked
        again. For repositories, not for input."""
        customer = object.__new__(cls)
        object.__setattr__(customer, "display_name", display_name)
        object.__setattr__(customer, "email", email)
        object.__setattr__(customer, "billing_address", billing_address)
        object.__setattr__(customer, "tax_id", tax_id)
        object.__setattr__(customer, "quickbooks_id", quickbooks_id)
        object.__setattr__(customer, "shipping_address", shipping_address)
        return customer

    def ships_to(self) -> Address | None:
        """Where the goods or services go: the shipping address, else the billing address."""
        return self.shipping_address or self.billing_address

    def known_tax_id(self) -> str | None:
        """The tax id, or None when it is one QuickBooks masked (its value is unknown)."""
        if self.tax_id is None or _masked_tail(self.tax_id) is not None:
            return None
        return self.tax_id

    def with_quickbooks_id(self, quickbooks_id: str) -> Customer:
        """The same customer, linked to QuickBooks customer ``quickbooks_id``."""
        if not isinstance(quickbooks_id, str) or not quickbooks_id.strip():
            raise InvalidValueError.of("quickbooks_id", MessageCode.QUICKBOOKS_CUSTOMER_ID_REQUIRED)
        return replace(self, quickbooks_id=quickbooks_id)

    def differences(self, other: Customer) -> frozenset[str]:
        """Which of display_name, email, billing_address, shipping_address and tax_id this
        customer holds and ``other`` lacks or holds differently (case and spacing ignored):
        what to copy to QuickBooks when asked. Shipping compares where each ships to
        (:meth:`ships_to`).

        A detail this customer does not have is never reported, so copying never erases one.
        A masked tax id (see ``_MASKED_TAX_ID``) matches ours by its last five characters, and
        one of ours is never reported.
        """
        changed: set[str] = set()
        if _normalized(self.display_name) != _normalized(other.display_name):
            changed.add("display_name")
        if self.email is not None and casefolded_emails(self.email) != casefolded_emails(
            other.email
        ):
            changed.add("email")
        if self.billing_address is not None and not self.billing_address.same_place_as(
            other.billing_address
        ):
            changed.add("billing_address")
        ships_to = self.ships_to()
        if ships_to is not None and not ships_to.same_place_as(other.ships_to()):
            changed.add("shipping_address")  # QuickBooks' ShipAddr does not follow its BillAddr
        if self.tax_id is not None and not _same_tax_id(self.tax_id, other.tax_id):
            changed.add("tax_id")
        return frozenset(changed)

from __future__ import annotations

import pytest
from domain_builders import a_customer

from domain.customer import Address, Customer, email_recipients, is_plausible_email
from domain.errors import InvalidValueError
from domain.messages import MessageCode


def fields_of(err: pytest.ExceptionInfo[InvalidValueError]) -> list[str]:
    return [v.field for v in err.value.violations]


# -- Address ---------------------------------------------------------------------------------


def test_an_address_without_any_part_is_empty() -> None:
    assert Address().is_empty()
    assert Address(city="   ").is_empty()
    assert not Address(country="France").is_empty()


def test_one_line_prefers_the_formatted_address() -> None:
    address = Address(line1="1 Main St", city="Springfield", formatted="1 Main St, Springfield, US")
    assert address.one_line() == "1 Main St, Springfield, US"


def test_one_line_joins_the_non_empty_parts_when_not_formatted() -> None:
    address = Address(line1=" 1 Main St ", city="Springfield", postal_code="12345", country="US")
    assert address.one_line() == "1 Main St, Springfield, 12345, US"


def test_address_parts_are_stripped() -> None:
    assert Address(city="  Paris ").city == "Paris"


def test_a_postal_code_longer_than_quickbooks_allows_is_rejected() -> None:
    with pytest.raises(InvalidValueError) as err:
        Address(postal_code="1" * 31)
    assert fields_of(err) == ["postal_code"]


def test_addresses_written_differently_but_reading_the_same_are_the_same_place() -> None:
    parts = Address(line1="1 Main St", city="Springfield")
    formatted = Address(formatted="1  main st, SPRINGFIELD")
    assert parts.same_place_as(formatted)
    assert not parts.same_place_as(Address(line1="2 Main St", city="Springfield"))


# -- Customer --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "\n"])
def test_customer_needs_a_display_name(name: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        Customer(display_name=name)
    assert fields_of(err) == ["display_name"]
    assert err.value.violations[0].description == "Enter the customer's name."


def test_display_name_is_stripped() -> None:
    assert Customer(display_name="  Acme  ").display_name == "Acme"


def test_display_name_of_100_characters_is_accepted_and_101_rejected() -> None:
    assert Customer(display_name="a" * 100).display_name == "a" * 100
    with pytest.raises(InvalidValueError) as err:
        Customer(display_name="a" * 101)
    assert "100" in err.value.violations[0].description


def test_display_name_must_fit_on_one_line() -> None:
    with pytest.raises(InvalidValueError):
        Customer(display_name="Acme\nSARL")


@pytest.mark.parametrize(
    "email",
    ["jane@acme.example", "jane.doe+billing@mail.acme.co.uk", "a@b.co"],
)
def test_plausible_emails_are_accepted(email: str) -> None:
    assert is_plausible_email(email)
    assert Customer(display_name="Acme", email=email).email == email


@pytest.mark.parametrize(
    "email",
    [
        "jane",
        "jane@acme",
        "jane@@acme.example",
        "ja ne@acme.example",
        "jane@acme.example@x.com",
        "@acme.example",
        "jane@.example",
        "jane@acme.",
        "jane@acme..example",
        "a" * 95 + "@acme.example",
    ],
)
def test_implausible_emails_are_rejected(email: str) -> None:
    assert not is_plausible_email(email)
    with pytest.raises(InvalidValueError) as err:
        Customer(display_name="Acme", email=email)
    assert fields_of(err) == ["email"]


def test_a_customer_may_have_several_emails_as_quickbooks_keeps_them() -> None:
    several = Customer(display_name="Acme", email=" ap@acme.example;boss@acme.example , ")
    assert several.email == "ap@acme.example, boss@acme.example"
    with pytest.raises(InvalidValueError) as err:
        Customer(display_name="Acme", email="ap@acme.example, boss")
    assert [(v.field, v.params) for v in err.value.violations] == [("email", {"value": "boss"})]
    with pytest.raises(InvalidValueError) as err:  # QuickBooks' 100 characters, all together
        Customer(display_name="Acme", email=", ".join(f"{n}" * 20 + "@acme.example" for n in "abc"))
    assert [v.code for v in err.value.violations] == [MessageCode.TOO_LONG]


def test_an_invoice_is_emailed_to_the_first_address_with_the_others_in_cc() -> None:
    assert email_recipients("ap@acme.example") == ("ap@acme.example", "")
    assert email_recipients(
        "ap@acme.example, boss@acme.example", "AP@acme.example, x@y.example"
    ) == (
        "ap@acme.example",
        "boss@acme.example, x@y.example",
    )
    assert email_recipients(None, "x@y.example") == (None, "x@y.example")


def test_the_same_addresses_in_another_order_are_no_difference() -> None:
    ours = a_customer(email="boss@acme.example, ap@acme.example")
    assert ours.differences(a_customer(email="AP@acme.example, boss@acme.example")) == frozenset()
    assert ours.differences(a_customer(email="ap@acme.example")) == {"email"}


def test_blank_email_and_tax_id_count_as_absent() -> None:
    customer = Customer(display_name="Acme", email="  ", tax_id="")
    assert customer.email is None
    assert customer.tax_id is None


def test_an_empty_billing_address_counts_as_absent() -> None:
    assert Customer(display_name="Acme", billing_address=Address()).billing_address is None


def test_an_empty_shipping_address_counts_as_absent() -> None:
    assert Customer(display_name="Acme", shipping_address=Address()).shipping_address is None


def test_a_customer_without_a_shipping_address_ships_to_its_billing_address() -> None:
    paris, lyon = Address(city="Paris"), Address(city="Lyon")
    assert a_customer(billing_address=paris).ships_to() == paris
    assert a_customer(billing_address=paris, shipping_address=lyon).ships_to() == lyon
    assert Customer(display_name="Acme").ships_to() is None


def test_where_a_customer_ships_to_is_a_difference() -> None:
    paris, lyon = Address(city="Paris"), Address(city="Lyon")
    ours = a_customer(billing_address=paris, shipping_address=lyon)

    assert ours.differences(a_customer(billing_address=paris)) == {"shipping_address"}
    # One with no ship-to of its own ships to its billing address: Lyon, as ours.
    assert ours.differences(a_customer(billing_address=lyon)) == {"billing_address"}
    assert ours.differences(ours) == frozenset()
    # A new billing address moves where one shipping to its billing address ships (QuickBooks'
    # ShipAddr does not follow its BillAddr by itself); a ship-to of its own it replaces.
    moved = a_customer(billing_address=lyon)
    assert moved.differences(a_customer(billing_address=paris)) == {
        "billing_address",
        "shipping_address",
    }
    assert a_customer(billing_address=paris).differences(ours) == {"shipping_address"}
    assert Customer(display_name="Acme SARL").differences(ours) == frozenset()  # none erased


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidValueError) as err:
        Customer(display_name="", email="nope", tax_id="x" * 101)
    assert fields_of(err) == ["display_name", "email", "tax_id"]


def test_linking_to_quickbooks_keeps_the_details() -> None:
    customer = a_customer()
    linked = customer.with_quickbooks_id("58")
    assert linked.quickbooks_id == "58"
    assert customer.quickbooks_id is None
    assert (linked.display_name, linked.email, linked.tax_id) == (
        customer.display_name,
        customer.email,
        customer.tax_id,
    )


def test_linking_needs_a_quickbooks_id() -> None:
    with pytest.raises(InvalidValueError):
        a_customer().with_quickbooks_id(" ")


def test_identical_customers_have_no_differences() -> None:
    assert a_customer().differences(a_customer(quickbooks_id="58")) == frozenset()


def test_differences_list_the_details_that_differ() -> None:
    ours = a_customer()
    theirs = a_customer(
        email="old@acme.example", billing_address=Address(city="Lyon"), tax_id="FR000"
    )
    # Each ships to its billing address: the ship-to differs with it.
    assert ours.differences(theirs) == {"email", "billing_address", "shipping_address", "tax_id"}


def test_differences_include_details_quickbooks_lacks() -> None:
    ours = a_customer()
    theirs = Customer(display_name="Acme SARL")
    assert ours.differences(theirs) == {"email", "billing_address", "shipping_address", "tax_id"}


def test_differences_never_include_details_we_lack_so_copying_erases_nothing() -> None:
    ours = Customer(display_name="Acme SARL")
    assert ours.differences(a_customer()) == frozenset()


def test_differences_ignore_case_and_spacing() -> None:
    ours = a_customer(email="Billing@Acme.example", tax_id="fr40303265045")
    theirs = a_customer(
        billing_address=Address(formatted="1 rue de la Paix,  Paris, FRANCE"),
    )
    assert ours.differences(theirs) == frozenset()


# QuickBooks reads PrimaryTaxIdentifier back masked to its last five characters (reference §6).


def test_a_tax_id_quickbooks_shows_masked_is_ours_when_the_last_five_characters_match() -> None:
    ours = a_customer(tax_id="GB123456789")
    theirs = a_customer(tax_id="XXXXXX56789")
    assert ours.differences(theirs) == frozenset()


def test_a_masked_tax_id_ending_otherwise_is_a_difference() -> None:
    ours = a_customer(tax_id="GB123456789")
    theirs = a_customer(tax_id="XXXXXX11111")
    assert ours.differences(theirs) == {"tax_id"}


@pytest.mark.parametrize("theirs", ["XXXXXX11111", "GB999999999", None])
def test_a_masked_tax_id_of_ours_is_never_a_difference_so_it_is_never_sent_back(
    theirs: str | None,
) -> None:
    ours = a_customer(tax_id="XXXXXX56789")
    assert ours.differences(a_customer(tax_id=theirs)) == frozenset()


@pytest.mark.parametrize(
    ("tax_id", "known"),
    [
        ("XXXXXX56789", None),
        ("XXXX56789", None),  # the number of X's is not documented
        ("GB123456789", "GB123456789"),
        ("XX1234567", "XX1234567"),  # not only X's before the last five
        ("12345", "12345"),
        (None, None),
    ],
)
def test_known_tax_id_is_none_when_quickbooks_masked_it(
    tax_id: str | None, known: str | None
) -> None:
    assert a_customer(tax_id=tax_id).known_tax_id() == known


def test_a_restored_customer_equals_the_checked_customer_it_was_stored_from() -> None:
    customer = a_customer()

    restored = Customer.restore(
        display_name=customer.display_name,
        email=customer.email,
        billing_address=customer.billing_address,
        tax_id=customer.tax_id,
        quickbooks_id=customer.quickbooks_id,
    )

    assert restored == customer

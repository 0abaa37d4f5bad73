from decimal import Decimal

import pytest

from tinyinvoice.money import CurrencyMismatch, Money


def test_add_same_currency():
    assert Money("1.10") + Money("2.20") == Money("3.30")


def test_add_other_currency_fails():
    with pytest.raises(CurrencyMismatch):
        Money(1, "EUR") + Money(1, "USD")


def test_multiply():
    assert (Money("2.50") * 3).amount == Decimal("7.50")


def test_rounded_plain():
    assert Money("2.344").rounded() == Money("2.34")
    assert Money("2.346").rounded() == Money("2.35")


def test_format():
    assert Money("1234.5", "USD").format() == "$1,234.50"

import unittest
from decimal import Decimal

from tinyinvoice.money import CurrencyMismatch, Money


class MoneyTests(unittest.TestCase):
    def test_add_same_currency(self):
        self.assertEqual(Money("1.10") + Money("2.20"), Money("3.30"))

    def test_add_other_currency_fails(self):
        with self.assertRaises(CurrencyMismatch):
            Money(1, "EUR") + Money(1, "USD")

    def test_multiply(self):
        self.assertEqual((Money("2.50") * 3).amount, Decimal("7.50"))

    def test_rounded_plain(self):
        self.assertEqual(Money("2.344").rounded(), Money("2.34"))
        self.assertEqual(Money("2.346").rounded(), Money("2.35"))

    def test_format(self):
        self.assertEqual(Money("1234.5", "USD").format(), "$1,234.50")


if __name__ == "__main__":
    unittest.main()

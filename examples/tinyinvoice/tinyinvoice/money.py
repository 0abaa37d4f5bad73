"""Money amounts as exact decimals with a currency."""

from decimal import Decimal

CENT = Decimal("0.01")

SYMBOLS = {
    "EUR": "€",
    "GBP": "£",
    "USD": "$",
}


class CurrencyMismatch(ValueError):
    """Raised when amounts in different currencies are combined."""


class Money:
    """An amount of money in one currency."""

    def __init__(self, amount, currency="EUR"):
        self.amount = Decimal(str(amount))
        self.currency = currency

    def __repr__(self):
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __eq__(self, other):
        return (
            isinstance(other, Money)
            and self.amount == other.amount
            and self.currency == other.currency
        )

    def _check(self, other):
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other):
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, factor):
        return Money(self.amount * Decimal(str(factor)), self.currency)

    def rounded(self):
        """The amount rounded to whole cents, halves rounded up as on paper."""
        return Money(self.amount.quantize(CENT), self.currency)

    def format(self):
        symbol = SYMBOLS.get(self.currency, self.currency + " ")
        return f"{symbol}{self.rounded().amount:,.2f}"

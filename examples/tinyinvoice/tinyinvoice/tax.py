"""Sales tax rates by region."""

from decimal import Decimal

TAX_RATES = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "NL": Decimal("0.21"),
    "UK": Decimal("0.20"),
}


class UnknownRegion(KeyError):
    """Raised for a region without a tax rate."""


def rate_for(region):
    try:
        return TAX_RATES[region]
    except KeyError:
        raise UnknownRegion(region) from None


def tax_for(region, money):
    """The tax due on an amount, not yet rounded."""
    return money * rate_for(region)

"""Invoices with exact money arithmetic."""

from tinyinvoice.invoice import Invoice, LineItem
from tinyinvoice.money import Money

__all__ = ["Invoice", "LineItem", "Money"]

"""Invoices: line items, subtotal, tax and total."""

from dataclasses import dataclass, field

from tinyinvoice.money import Money
from tinyinvoice.tax import tax_for


@dataclass
class LineItem:
    description: str
    unit_price: Money
    quantity: int = 1

    def amount(self):
        return self.unit_price * self.quantity


@dataclass
class Invoice:
    region: str
    currency: str = "EUR"
    items: list = field(default_factory=list)

    def add(self, description, unit_price, quantity=1):
        item = LineItem(description, Money(unit_price, self.currency), quantity)
        self.items.append(item)
        return item

    def subtotal(self):
        total = Money(0, self.currency)
        for item in self.items:
            total = total + item.amount()
        return total

    def tax(self):
        return tax_for(self.region, self.subtotal()).rounded()

    def total(self):
        return (self.subtotal() + self.tax()).rounded()

    def render(self):
        lines = [f"{item.quantity} x {item.description}: {item.amount().format()}" for item in self.items]
        lines.append(f"Subtotal: {self.subtotal().format()}")
        lines.append(f"Tax ({self.region}): {self.tax().format()}")
        lines.append(f"Total: {self.total().format()}")
        return "\n".join(lines)

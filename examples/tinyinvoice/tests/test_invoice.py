import unittest

from tinyinvoice import Invoice, Money


class InvoiceTests(unittest.TestCase):
    def test_subtotal(self):
        invoice = Invoice(region="DE")
        invoice.add("Coffee", "3.20", 2)
        invoice.add("Cake", "4.10")
        self.assertEqual(invoice.subtotal(), Money("10.50"))

    def test_total_with_tax(self):
        invoice = Invoice(region="FR")
        invoice.add("Book", "10.00")
        self.assertEqual(invoice.tax(), Money("2.00"))
        self.assertEqual(invoice.total(), Money("12.00"))

    def test_render(self):
        invoice = Invoice(region="NL")
        invoice.add("Tea", "2.00", 3)
        self.assertEqual(
            invoice.render().splitlines(),
            ["3 x Tea: €6.00", "Subtotal: €6.00", "Tax (NL): €1.26", "Total: €7.26"],
        )


if __name__ == "__main__":
    unittest.main()

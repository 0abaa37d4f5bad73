from tinyinvoice import Invoice, Money


def test_subtotal():
    invoice = Invoice(region="DE")
    invoice.add("Coffee", "3.20", 2)
    invoice.add("Cake", "4.10")
    assert invoice.subtotal() == Money("10.50")


def test_total_with_tax():
    invoice = Invoice(region="FR")
    invoice.add("Book", "10.00")
    assert invoice.tax() == Money("2.00")
    assert invoice.total() == Money("12.00")


def test_render():
    invoice = Invoice(region="NL")
    invoice.add("Tea", "2.00", 3)
    assert invoice.render().splitlines() == [
        "3 x Tea: €6.00",
        "Subtotal: €6.00",
        "Tax (NL): €1.26",
        "Total: €7.26",
    ]

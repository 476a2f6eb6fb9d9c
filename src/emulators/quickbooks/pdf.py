"""A small, valid, hand-written PDF of an invoice (one page, Helvetica, uncompressed text)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .store import Company, Entity

MAX_LINES = 30


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _fmt(value: Any) -> str:
    number = Decimal(str(value if value not in (None, "") else 0))
    return f"{number:,.2f}"


def _text_ops(rows: list[tuple[str, float, float, float, str]]) -> bytes:
    out = bytearray(b"BT\n")
    for font, size, x, y, text in rows:
        out += f"/{font} {size:g} Tf 1 0 0 1 {x:g} {y:g} Tm (".encode()
        out += _escape(text) + b") Tj\n"
    out += b"ET\n"
    return bytes(out)


def invoice_pdf(company: Company, invoice: Entity) -> bytes:
    currency = (invoice.get("CurrencyRef") or {}).get("value", company.home_currency)
    customer = (invoice.get("CustomerRef") or {}).get("name", "")
    doc = invoice.get("DocNumber") or invoice.get("Id", "")
    rows: list[tuple[str, float, float, float, str]] = [
        ("F2", 20, 50, 740, company.name),
        ("F2", 16, 420, 740, "INVOICE"),
        ("F1", 11, 420, 720, f"Invoice no. {doc}"),
        ("F1", 11, 420, 705, f"Date: {invoice.get('TxnDate', '')}"),
        ("F1", 11, 420, 690, f"Due date: {invoice.get('DueDate', '')}"),
        ("F2", 11, 50, 700, "Bill to"),
        ("F1", 11, 50, 685, customer),
    ]
    addr = invoice.get("BillAddr") or {}
    y = 670.0
    for key in ("Line1", "Line2", "City", "PostalCode"):
        if addr.get(key):
            rows.append(("F1", 10, 50, y, str(addr[key])))
            y -= 13
    y = 600.0
    rows += [
        ("F2", 10, 50, y, "Description"),
        ("F2", 10, 330, y, "Qty"),
        ("F2", 10, 390, y, "Rate"),
        ("F2", 10, 480, y, "Amount"),
    ]
    y -= 18
    lines = [
        line
        for line in invoice.get("Line", [])
        if line.get("DetailType") in ("SalesItemLineDetail", "DiscountLineDetail")
    ]
    for line in lines[:MAX_LINES]:
        detail = line.get("SalesItemLineDetail") or {}
        label = line.get("Description") or (detail.get("ItemRef") or {}).get("name", "")
        if line.get("DetailType") == "DiscountLineDetail":
            label = "Discount"
        rows.append(("F1", 10, 50, y, str(label)[:55]))
        if "Qty" in detail:
            rows.append(("F1", 10, 330, y, f"{Decimal(str(detail['Qty'])):g}"))
        if "UnitPrice" in detail:
            rows.append(("F1", 10, 390, y, _fmt(detail["UnitPrice"])))
        sign = "-" if line.get("DetailType") == "DiscountLineDetail" else ""
        rows.append(("F1", 10, 480, y, sign + _fmt(line.get("Amount"))))
        y -= 15
    if len(lines) > MAX_LINES:
        rows.append(("F1", 10, 50, y, f"... and {len(lines) - MAX_LINES} more lines"))
        y -= 15
    tax = (invoice.get("TxnTaxDetail") or {}).get("TotalTax", 0)
    y -= 10
    rows += [
        ("F1", 11, 390, y, "Tax"),
        ("F1", 11, 480, y, _fmt(tax)),
        ("F2", 12, 390, y - 18, "Total"),
        ("F2", 12, 480, y - 18, f"{_fmt(invoice.get('TotalAmt'))} {currency}"),
        ("F1", 11, 390, y - 36, "Balance due"),
        ("F1", 11, 480, y - 36, f"{_fmt(invoice.get('Balance'))} {currency}"),
    ]
    memo = (invoice.get("CustomerMemo") or {}).get("value")
    if memo:
        rows.append(("F1", 10, 50, 80, str(memo)[:90]))
    return build_pdf(_text_ops(rows), title=f"Invoice {doc}")


def build_pdf(content: bytes, title: str = "") -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Title (" + _escape(title) + b") /Producer (QuickBooks Online emulator) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)

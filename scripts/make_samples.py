"""Write the sample documents of a fictional micro business into knowledge/.

Run: .venv/bin/python scripts/make_samples.py   (the output is committed; rerun after edits)
The PDF is written by a tiny writer here (no PDF library needed); the .docx with python-docx.
"""

from __future__ import annotations

import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "knowledge"

PRICE_PAGES = [
    (
        "Nordlicht Web Studio - Price List 2026",
        [
            "Website packages (prices in EUR, excluding VAT)",
            "",
            "Starter website: 1,200 EUR. Up to five pages, contact form, mobile layout,",
            "basic search engine setup. Delivered in about three weeks.",
            "",
            "Business website: 2,900 EUR. Up to fifteen pages, blog, newsletter signup,",
            "two rounds of design revisions, analytics setup.",
            "",
            "Online shop: from 4,800 EUR. Shopify or WooCommerce, up to 50 products",
            "imported, payment provider setup, shipping rules, a training call.",
            "",
            "Landing page: 650 EUR. One page for a campaign or event, delivered in five",
            "working days.",
        ],
    ),
    (
        "Branding and design",
        [
            "Logo design: 900 EUR. Three first concepts, two revision rounds, final files",
            "in SVG, PNG and PDF.",
            "",
            "Brand style guide: 1,400 EUR. Colours, typography, logo usage rules, a",
            "twelve-page PDF guide.",
            "",
            "Social media templates: 380 EUR for a set of ten editable Canva templates.",
            "",
            "Business cards and letterhead: 290 EUR, print-ready files.",
            "",
            "Photo retouching: 12 EUR per image, minimum order of ten images.",
        ],
    ),
    (
        "Hourly work, care plans and terms",
        [
            "Hourly rate for changes and small jobs: 85 EUR per hour, billed in",
            "15-minute steps.",
            "",
            "Website care plan: 49 EUR per month. Updates, daily backups, uptime",
            "monitoring and one hour of content changes each month.",
            "",
            "Hosting: 19 EUR per month, billed yearly in advance (228 EUR per year).",
            "",
            "Rush fee: plus 30 percent for delivery faster than the quoted date.",
            "",
            "Payment terms: 40 percent deposit on signing, the rest on launch.",
            "Invoices are due within 14 days. Late payments incur 1 percent per month.",
            "",
            "Discounts: 10 percent for registered charities and student projects.",
        ],
    ),
]

FAQ = """# Client FAQ

Answers to the questions clients ask Nordlicht Web Studio most often.

## Getting started

### How do I start a project?
Book a free 30-minute discovery call through the contact form. After the call you receive a
written quote within two working days. The project starts when the signed quote and the deposit
have arrived.

### What do you need from me?
Your logo files, the texts for each page, photos you own the rights to, and access to your
domain registrar. If you need help with texts, copywriting is available at the hourly rate.

## Payments

Payment is by bank transfer or by card through the invoice link. A 40 percent deposit is due when
you sign; the remaining 60 percent is due at launch. Invoices are payable within 14 days.
Instalments over three months are possible for projects above 3,000 EUR.

## Refunds

If you cancel before any design work has started, the deposit is refunded in full within 14 days.
Once design work has started, the deposit is not refundable, but you keep all drafts made so far.
Care plans can be cancelled monthly; there are no refunds for a month that has already begun.
Hosting paid yearly in advance is refunded pro rata for full months remaining.

## Revisions

Each package includes two rounds of revisions on the design. A revision round is one consolidated
list of changes. Extra rounds are billed at the hourly rate of 85 EUR. Changes after launch are
covered by the care plan or billed hourly.

## Timelines

A starter website takes about three weeks, a business website five to six weeks, and an online
shop eight to ten weeks. Timelines depend on receiving your content on time: every week of delay
in content moves the launch by a week.

## Hosting and domains

Sites are hosted on servers in Frankfurt, Germany, with daily backups kept for 30 days. You always
own your domain; it stays registered in your name. If you move away, you receive a full export of
the site within five working days.

## Data protection

The studio signs a data processing agreement with every client whose site collects personal data.
Contact forms store messages for 90 days and then delete them automatically.
"""

CALENDAR = """TAX AND LICENCE CALENDAR - Nordlicht Web Studio (notes to self)
Owner: Jana Berg. Tax adviser: Petra Scholz, phone 030 5550 1234.

VAT (value added tax)
VAT returns are filed quarterly, by the 10th day after the quarter ends:
April 10 for Q1, July 10 for Q2, October 10 for Q3 and January 10 for Q4.
The annual VAT return is due by July 31 of the following year.
Keep every purchase receipt: input VAT can only be claimed with a proper invoice.

Income tax
The income tax return for the year is prepared by Petra and filed by July 31 of the next year.
Income tax prepayments are due quarterly on March 10, June 10, September 10 and December 10.
Set aside 30 percent of every payment received for income tax and prepayments.

Trade licence and registrations
The city trade licence must be renewed every two years; the next renewal is due by March 1, 2027.
The renewal fee is 60 EUR and needs the insurance certificate attached.
The chamber of commerce membership fee is invoiced every May.

Insurance
Professional liability insurance renews every year on September 1 (premium 420 EUR).
The insurer needs the previous year's revenue figure by August 15 to set the premium.

Domains and subscriptions
The studio domain nordlicht-web.example renews on November 20 each year.
Design software licences renew on February 2; the hosting server contract renews on June 30.

Bookkeeping routine
Every Friday: match bank transactions with invoices and receipts.
First Monday of the month: send reminders for overdue invoices.
Keep business records for ten years.
"""

CONTRACTORS_CSV = """name,role,rate,availability,contact
Lukas Meyer,frontend developer,65 EUR per hour,Mondays to Wednesdays,lukas@example.org
Aylin Demir,copywriter,0.12 EUR per word,weekends and evenings,aylin@example.org
Tomasz Nowak,photographer,450 EUR per day,on request with two weeks notice,tomasz@example.org
Sofia Rossi,bookkeeper,180 EUR per month,first week of every month,sofia@example.org
"""

AGREEMENT = [
    ("Title", "Freelance Contractor Agreement"),
    (
        "p",
        "This agreement is made between Nordlicht Web Studio, owned by Jana Berg (the Studio), "
        "and Lukas Meyer (the Contractor), effective 1 February 2026.",
    ),
    ("Heading 1", "Scope of work"),
    (
        "p",
        "The Contractor builds front-end templates and components for client websites as "
        "described in each written work order. Each work order names the deliverables, the "
        "deadline and the budget in hours.",
    ),
    ("Heading 1", "Fees and invoicing"),
    (
        "p",
        "The Studio pays 65 EUR per hour for approved hours. The Contractor invoices at the end "
        "of each month with a timesheet per work order. The Studio pays within 30 days of "
        "receiving a correct invoice. Hours beyond a work order's budget need written approval "
        "before they are worked.",
    ),
    ("Heading 1", "Confidentiality"),
    (
        "p",
        "The Contractor keeps all client information, access credentials and unpublished work "
        "confidential during the agreement and for three years after it ends. Client passwords "
        "are stored only in the Studio's password manager.",
    ),
    ("Heading 1", "Intellectual property"),
    (
        "p",
        "All work created under a work order belongs to the Studio once it is paid for. The "
        "Contractor may show finished, published work in a portfolio after the client's launch "
        "date, unless the client has asked for discretion.",
    ),
    ("Heading 1", "Termination"),
    (
        "p",
        "Either party may end this agreement with 14 days' written notice. Work orders already "
        "started are finished or handed over with all source files, and the hours worked are "
        "paid.",
    ),
    ("Heading 1", "Liability and insurance"),
    (
        "p",
        "The Contractor is an independent business, responsible for their own taxes, social "
        "insurance and equipment. The Contractor's liability is limited to the fees paid under "
        "the affected work order, except for intent or gross negligence.",
    ),
    ("Heading 2", "Governing law"),
    (
        "p",
        "German law applies. Disputes go first to a mediation meeting before any court in Berlin.",
    ),
]


def pdf_bytes(pages: list[tuple[str, list[str]]]) -> bytes:
    """A minimal valid PDF: one Helvetica text page per entry, Flate-compressed streams."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled below
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>")
    kids = []
    for number, (title, lines) in enumerate(pages, start=1):
        ops = [f"BT /F2 16 Tf 56 780 Td ({_esc(title)}) Tj ET"]
        y = 750
        for line in lines:
            if line:
                ops.append(f"BT /F1 11 Tf 56 {y} Td ({_esc(line)}) Tj ET")
            y -= 16
        ops.append(f"BT /F1 9 Tf 500 40 Td (Page {number} of {len(pages)}) Tj ET")
        data = zlib.compress("\n".join(ops).encode("cp1252"))
        stream = add(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
        )
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> >>"
                % (tree, stream, font, bold)
            )
        )
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        xref,
    )
    return bytes(out)


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for style, text in AGREEMENT:
        if style == "p":
            document.add_paragraph(text)
        elif style == "Title":
            document.add_heading(text, level=0)
        else:
            document.add_heading(text, level=int(style[-1]))
    table = document.add_table(rows=3, cols=2)
    for row, (left, right) in zip(
        table.rows,
        [("Signed for the Studio", "Jana Berg"), ("Signed by the Contractor", "Lukas Meyer"),
         ("Date", "28 January 2026")],
        strict=True,
    ):  # fmt: skip
        row.cells[0].text, row.cells[1].text = left, right
    document.core_properties.author = "Nordlicht Web Studio"
    document.save(str(path))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "price-list.pdf").write_bytes(pdf_bytes(PRICE_PAGES))
    (OUT / "client-faq.md").write_text(FAQ, encoding="utf-8")
    (OUT / "tax-and-licence-calendar.txt").write_text(CALENDAR, encoding="utf-8")
    (OUT / "contractors.csv").write_text(CONTRACTORS_CSV, encoding="utf-8")
    write_docx(OUT / "contractor-agreement.docx")
    for path in sorted(OUT.iterdir()):
        print(f"{path.name:32} {path.stat().st_size:>7} bytes")


if __name__ == "__main__":
    main()

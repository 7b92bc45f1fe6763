"""Monthly statements: CSV (streamed rows) and PDF (WeasyPrint, from the same rows)."""

import csv
import io
import re

from django.template.loader import render_to_string

from payouts import selectors
from payouts.errors import StatementPeriodInvalidError

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COLUMNS = ["date", "entry", "kind", "event", "order", "product", "account", "reason", "type", "amount", "currency"]


def statement_period(period: str) -> tuple[int, int]:
    match = PERIOD.match(period or "")
    if not match:
        raise StatementPeriodInvalidError(details={"period": period})
    return int(match.group(1)), int(match.group(2))


def statement_rows(*, payee_user_id: str, year: int, month: int):
    for entry in selectors.statement_entries(payee_user_id=payee_user_id, year=year, month=month).iterator():
        yield {"date": entry.created_at.date().isoformat(), "entry": entry.id, "kind": entry.posting.kind,
               "event": entry.event_id, "order": entry.order_id, "product": entry.product_id,
               "account": entry.account, "reason": entry.reason, "type": entry.type,
               "amount": entry.amount if entry.type == "credit" else -entry.amount, "currency": entry.currency}


def statement_csv(*, payee_user_id: str, year: int, month: int) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in statement_rows(payee_user_id=payee_user_id, year=year, month=month):
        writer.writerow(row)
    return out.getvalue()


def statement_html(*, payee_user_id: str, payee_email: str, year: int, month: int) -> str:
    """The statement as the PDF prints it: courses by name, amounts in the currency's minor unit."""
    rows = list(statement_rows(payee_user_id=payee_user_id, year=year, month=month))
    return render_to_string("payouts/statement_pdf.html", {
        "period": f"{year}-{month:02d}", "payee_email": payee_email, "rows": rows,
        "names": selectors.product_names(product_ids=[row["product"] for row in rows]),
        "summary": selectors.statement_summary(payee_user_id=payee_user_id, year=year, month=month)})


def statement_pdf(*, payee_user_id: str, payee_email: str, year: int, month: int) -> bytes:
    from weasyprint import HTML

    return HTML(string=statement_html(payee_user_id=payee_user_id, payee_email=payee_email, year=year,
                                      month=month)).write_pdf()

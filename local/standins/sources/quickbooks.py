"""QuickBooks Online: an invoice for every completed job, its lines, and the payments.

One QuickBooks company serves all tenants (``tenant`` says whose job it was). An invoice is
raised when a job completes: ``txn_date`` is the UTC date of ``completed_at``, ``total_amt`` the
job total in dollars and one line mirrors each job line item. Residential customers often pay
on the spot; businesses pay on terms. An invoice whose job is later hard-deleted is voided,
which, as in QuickBooks, zeroes its amounts but keeps the record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import catalog, vocab
from standins.sources.config import DAY_US, HOUR_US, MINUTE_US
from standins.sources.jobsdb import STATUS, Customers, Jobs, LineItems, Tenant
from standins.sources.rand import choice, uniform

CURRENCY = "USD"
INVOICE_STATUSES = ("Open", "Paid", "Overdue", "Voided")


@dataclass
class TenantBooks:
    """What QuickBooks needs from one tenant's Jobs DB."""

    tenant: Tenant
    jobs: Jobs
    items: LineItems
    customers: Customers


def payment_plan(
    seed: int, invoice_id: np.ndarray, created_us: np.ndarray, commercial: np.ndarray
) -> dict[str, np.ndarray]:
    """When each invoice gets paid and how (a pure function of the invoice id).

    Half of residential invoices are paid on the spot, the rest within days; businesses pay
    on 30-day terms, some late.
    """
    u = uniform(seed, "pay_kind", invoice_id)
    spot = ~commercial & (u < 0.5)
    days = np.where(
        commercial,
        np.exp(3.0 + 0.5 * uniform(seed, "pay_days", invoice_id)) - 5,
        1 + 14 * uniform(seed, "pay_days", invoice_id) ** 2,
    )
    delay = np.where(
        spot,
        (uniform(seed, "pay_spot", invoice_id) * 30 * MINUTE_US).astype(np.int64),
        (days * DAY_US).astype(np.int64),
    )
    method = np.where(
        spot,
        choice(uniform(seed, "pay_m", invoice_id), [0.7, 0.05, 0.0, 0.25]),
        choice(uniform(seed, "pay_m", invoice_id), [0.35, 0.35, 0.3, 0.0]),
    )
    return {"pay_at": created_us + delay, "method": method}


def due_days(commercial: np.ndarray) -> np.ndarray:
    """Payment terms in days: net 30 for businesses, net 15 for households."""
    return np.where(commercial, 30, 15)


def quickbooks(
    seed: int, books: list[TenantBooks], now_us: int
) -> tuple[dict[str, pa.Table], pa.Table]:
    """Invoices, lines and payments as of ``now`` for every completed job of every tenant.

    Returns:
        The three QuickBooks tables and the not-yet-due payments (``invoice_id``, ``pay_at``,
        ``method``) that the change stream will book when their time comes.
    """
    parts = []
    for b in books:
        done = np.flatnonzero(b.jobs.status == STATUS["completed"])
        commercial = b.customers.commercial[b.jobs.customer_id[done] - b.customers.ids[0]]
        parts.append((b, done, commercial))
    completed = (
        np.concatenate([b.jobs.completed[d] for b, d, _ in parts])
        if parts
        else np.zeros(0, np.int64)
    )
    job_id = np.concatenate([b.jobs.ids[d] for b, d, _ in parts])
    order = np.lexsort((job_id, completed))
    n = len(order)
    invoice_id = np.empty(n, dtype=np.int64)
    invoice_id[order] = 1 + np.arange(n)

    customer = np.concatenate([b.jobs.customer_id[d] for b, d, _ in parts])
    tenant = np.concatenate([np.full(len(d), b.tenant.name, dtype=object) for b, d, _ in parts])
    total = np.concatenate([b.jobs.total_cents[d] for b, d, _ in parts])
    commercial = np.concatenate([c for _, _, c in parts])
    created = np.minimum(
        completed + (uniform(seed, "inv_delay", job_id) * 2 * HOUR_US).astype(np.int64), now_us
    )
    pay = payment_plan(seed, invoice_id, created, commercial)
    paid = pay["pay_at"] <= now_us
    due = (completed // DAY_US + due_days(commercial)) * DAY_US
    overdue = ~paid & (due + DAY_US <= now_us)
    status = np.where(paid, 1, np.where(overdue, 2, 0))
    updated = np.maximum.reduce(
        [created, np.where(paid, pay["pay_at"], 0), np.where(overdue, due + DAY_US, 0)]
    )

    # invoice lines mirror the job's line items
    line_job = []
    line_num = []
    line_desc = []
    line_type = []
    line_amount = []
    for b, d, _ in parts:
        starts, ends = b.jobs.line_start[d], b.jobs.line_start[d + 1]
        counts = ends - starts
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        line_job.append(np.repeat(np.arange(len(d)), counts))
        line_num.append(rows - np.repeat(starts, counts) + 1)
        line_desc.append(b.items.description.take(pa.array(rows)))
        line_type.append(b.items.item_type[rows])
        line_amount.append(b.items.amount_cents[rows])
    offsets = np.cumsum([0] + [len(d) for _, d, _ in parts])[:-1]
    line_owner = (
        np.concatenate([j + o for j, o in zip(line_job, offsets, strict=True)])
        if parts
        else np.zeros(0, int)
    )
    line_invoice = invoice_id[line_owner]
    line_order = np.lexsort((np.concatenate(line_num), line_invoice))

    inv_order = np.argsort(invoice_id)
    invoice = pa.table(
        {
            "id": pa.array(invoice_id[inv_order], pa.int64()),
            "doc_number": ac.join("INV-", ac.num_str(invoice_id[inv_order], 7)),
            "customer_ref": pa.array(customer[inv_order], pa.int64()),
            "job_id": pa.array(job_id[inv_order], pa.int64()),
            "tenant": pa.array(tenant[inv_order].astype(str)),
            "txn_date": ac.date(completed[inv_order]),
            "due_date": ac.date(due[inv_order]),
            "total_amt": ac.money(total[inv_order]),
            "balance": ac.money(np.where(paid, 0, total)[inv_order]),
            "status": ac.pick(INVOICE_STATUSES, status[inv_order]),
            "currency": pa.array([CURRENCY] * n, pa.string()),
            "created_at": ac.ts(created[inv_order]),
            "updated_at": ac.ts(updated[inv_order]),
        }
    )
    invoice_line = pa.table(
        {
            "invoice_id": pa.array(line_invoice[line_order], pa.int64()),
            "line_num": pa.array(np.concatenate(line_num)[line_order], pa.int32()),
            "description": pa.concat_arrays(line_desc).take(pa.array(line_order))
            if parts
            else pa.array([], pa.string()),
            "item_type": ac.pick(catalog.LINE_ITEM_TYPES, np.concatenate(line_type)[line_order]),
            "amount": ac.money(np.concatenate(line_amount)[line_order]),
            "updated_at": ac.ts(created[line_owner][line_order]),
        }
    )
    p = np.flatnonzero(paid)
    p = p[np.lexsort((invoice_id[p], pay["pay_at"][p]))]
    payment = pa.table(
        {
            "id": pa.array(1 + np.arange(len(p)), pa.int64()),
            "invoice_id": pa.array(invoice_id[p], pa.int64()),
            "customer_ref": pa.array(customer[p], pa.int64()),
            "txn_date": ac.date(pay["pay_at"][p]),
            "total_amt": ac.money(total[p]),
            "payment_method": ac.pick(vocab.PAYMENT_METHODS, pay["method"][p]),
            "created_at": ac.ts(pay["pay_at"][p]),
            "updated_at": ac.ts(pay["pay_at"][p]),
        }
    )
    pending = np.flatnonzero(~paid)
    pending_payments = pa.table(
        {
            "invoice_id": pa.array(invoice_id[pending], pa.int64()),
            "pay_at": ac.ts(pay["pay_at"][pending]),
            "method": ac.pick(vocab.PAYMENT_METHODS, pay["method"][pending]),
        }
    )
    return {"invoice": invoice, "invoice_line": invoice_line, "payment": payment}, pending_payments

"""QuickBooks Online: an invoice for every completed job, its lines, and the payments.

One QuickBooks company serves all tenants (``tenant`` says whose job it was). An invoice is
raised when a job completes: ``txn_date`` is the UTC date of ``completed_at``, ``total_amt`` the
job total in dollars and one line mirrors each job line item. Residential customers often pay
on the spot; businesses pay on terms. An invoice whose job is later hard-deleted is voided,
which, as in QuickBooks, zeroes its amounts but keeps the record.
"""

from __future__ import annotations

from collections.abc import Iterator
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


CHUNK_ROWS = 500_000
"""Invoices per rendered slice: the tables of a full-scale estate never sit in memory whole."""


@dataclass
class Ledger:
    """Every invoice as arrays, in the order of ``books`` (tenant by tenant, job by job)."""

    books: list[TenantBooks]
    order: np.ndarray  # positions in invoice-id order
    invoice_id: np.ndarray
    job_id: np.ndarray
    book: np.ndarray  # index into books
    customer: np.ndarray
    total: np.ndarray
    completed: np.ndarray
    created: np.ndarray
    due: np.ndarray
    paid: np.ndarray
    status: np.ndarray
    updated: np.ndarray
    pay_at: np.ndarray
    method: np.ndarray
    line_first: np.ndarray  # the job's first line-item row in its tenant's items
    line_count: np.ndarray


def ledger(seed: int, books: list[TenantBooks], now_us: int) -> Ledger:
    """Invoices (numbered by completion time across tenants) and their payment plans."""
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
    commercial = np.concatenate([c for _, _, c in parts])
    created = np.minimum(
        completed + (uniform(seed, "inv_delay", job_id) * 2 * HOUR_US).astype(np.int64), now_us
    )
    pay = payment_plan(seed, invoice_id, created, commercial)
    paid = pay["pay_at"] <= now_us
    due = (completed // DAY_US + due_days(commercial)) * DAY_US
    overdue = ~paid & (due + DAY_US <= now_us)
    return Ledger(
        books=books,
        order=order,
        invoice_id=invoice_id,
        job_id=job_id,
        book=np.concatenate(
            [np.full(len(d), i, dtype=np.int32) for i, (_, d, _) in enumerate(parts)]
        ),
        customer=np.concatenate([b.jobs.customer_id[d] for b, d, _ in parts]),
        total=np.concatenate([b.jobs.total_cents[d] for b, d, _ in parts]),
        completed=completed,
        created=created,
        due=due,
        paid=paid,
        status=np.where(paid, 1, np.where(overdue, 2, 0)),
        updated=np.maximum.reduce(
            [created, np.where(paid, pay["pay_at"], 0), np.where(overdue, due + DAY_US, 0)]
        ),
        pay_at=pay["pay_at"],
        method=pay["method"],
        line_first=np.concatenate([b.jobs.line_start[d] for b, d, _ in parts]),
        line_count=np.concatenate(
            [b.jobs.line_start[d + 1] - b.jobs.line_start[d] for b, d, _ in parts]
        ),
    )


def invoice_rows(led: Ledger, at: np.ndarray) -> pa.Table:
    """The ``invoice`` rows of positions ``at``."""
    names = [b.tenant.name for b in led.books]
    return pa.table(
        {
            "id": pa.array(led.invoice_id[at], pa.int64()),
            "doc_number": ac.join("INV-", ac.num_str(led.invoice_id[at], 7)),
            "customer_ref": pa.array(led.customer[at], pa.int64()),
            "job_id": pa.array(led.job_id[at], pa.int64()),
            "tenant": ac.pick(names, led.book[at]),
            "txn_date": ac.date(led.completed[at]),
            "due_date": ac.date(led.due[at]),
            "total_amt": ac.money(led.total[at]),
            "balance": ac.money(np.where(led.paid[at], 0, led.total[at])),
            "status": ac.pick(INVOICE_STATUSES, led.status[at]),
            "currency": pa.array([CURRENCY] * len(at), pa.string()),
            "created_at": ac.ts(led.created[at]),
            "updated_at": ac.ts(led.updated[at]),
        }
    )


def invoice_line_rows(led: Ledger, at: np.ndarray) -> pa.Table:
    """The ``invoice_line`` rows of the invoices at positions ``at`` (one per job line item).

    ``at`` in invoice-id order gives the lines in (invoice, line number) order.
    """
    counts = led.line_count[at]
    owner = np.repeat(np.arange(len(at)), counts)
    num = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    item_row = led.line_first[at][owner] + num - 1
    book = led.book[at][owner]
    item_type = np.empty(len(owner), dtype=np.int64)
    amount = np.empty(len(owner), dtype=np.int64)
    by_book = np.argsort(book, kind="stable")
    pieces = []
    for i, b in enumerate(led.books):
        lines = by_book[book[by_book] == i]
        item_type[lines] = b.items.item_type[item_row[lines]]
        amount[lines] = b.items.amount_cents[item_row[lines]]
        pieces.append(b.items.description.take(pa.array(item_row[lines])))
    description = (
        pa.concat_arrays(pieces).take(pa.array(np.argsort(by_book)))
        if pieces
        else pa.array([], pa.string())
    )
    return pa.table(
        {
            "invoice_id": pa.array(led.invoice_id[at][owner], pa.int64()),
            "line_num": pa.array(num, pa.int32()),
            "description": description,
            "item_type": ac.pick(catalog.LINE_ITEM_TYPES, item_type),
            "amount": ac.money(amount),
            "updated_at": ac.ts(led.created[at][owner]),
        }
    )


def payment_rows(led: Ledger, at: np.ndarray, first_id: int) -> pa.Table:
    """The ``payment`` rows of the paid invoices at positions ``at``, numbered from ``first_id``."""
    return pa.table(
        {
            "id": pa.array(first_id + np.arange(len(at)), pa.int64()),
            "invoice_id": pa.array(led.invoice_id[at], pa.int64()),
            "customer_ref": pa.array(led.customer[at], pa.int64()),
            "txn_date": ac.date(led.pay_at[at]),
            "total_amt": ac.money(led.total[at]),
            "payment_method": ac.pick(vocab.PAYMENT_METHODS, led.method[at]),
            "created_at": ac.ts(led.pay_at[at]),
            "updated_at": ac.ts(led.pay_at[at]),
        }
    )


def pending_rows(led: Ledger, at: np.ndarray) -> pa.Table:
    """The not-yet-due payments of the unpaid invoices at positions ``at``."""
    return pa.table(
        {
            "invoice_id": pa.array(led.invoice_id[at], pa.int64()),
            "pay_at": ac.ts(led.pay_at[at]),
            "method": ac.pick(vocab.PAYMENT_METHODS, led.method[at]),
        }
    )


def quickbooks_slices(
    seed: int, books: list[TenantBooks], now_us: int, rows: int | None = None
) -> Iterator[tuple[str, pa.Table]]:
    """:func:`quickbooks` as ``(table, slice)`` pairs of at most ``rows`` invoices each.

    Memory stays at the ledger's arrays plus one slice; every table yields at least one
    (possibly empty) slice, and ``pending_payments`` names the change stream's table.
    """
    led = ledger(seed, books, now_us)
    rows = rows or CHUNK_ROWS

    def slices(positions: np.ndarray) -> Iterator[np.ndarray]:
        for start in range(0, max(len(positions), 1), rows):
            yield positions[start : start + rows]

    for at in slices(led.order):
        yield "invoice", invoice_rows(led, at)
    for at in slices(led.order):
        yield "invoice_line", invoice_line_rows(led, at)
    paid = np.flatnonzero(led.paid)
    paid = paid[np.lexsort((led.invoice_id[paid], led.pay_at[paid]))]
    first = 1
    for at in slices(paid):
        yield "payment", payment_rows(led, at, first)
        first += len(at)
    for at in slices(np.flatnonzero(~led.paid)):
        yield "pending_payments", pending_rows(led, at)


def quickbooks(
    seed: int, books: list[TenantBooks], now_us: int
) -> tuple[dict[str, pa.Table], pa.Table]:
    """Invoices, lines and payments as of ``now`` for every completed job of every tenant.

    Returns:
        The three QuickBooks tables and the not-yet-due payments (``invoice_id``, ``pay_at``,
        ``method``) that the change stream will book when their time comes.
    """
    pieces: dict[str, list[pa.Table]] = {}
    for name, table in quickbooks_slices(seed, books, now_us):
        pieces.setdefault(name, []).append(table)
    tables = {name: pa.concat_tables(parts) for name, parts in pieces.items()}
    pending = tables.pop("pending_payments")
    return tables, pending

"""QuickBooks in a step: invoices for completed jobs, payments, overdue marking, voids."""

from __future__ import annotations

import numpy as np
import psycopg
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import quickbooks, vocab
from standins.sources.bulkload import copy_table
from standins.sources.changes.common import next_id, sql_us, ts
from standins.sources.config import DAY_US, HOUR_US
from standins.sources.rand import uniform
from standins.sources.state import EstateState


def raise_invoices(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    state: EstateState,
    tenant: str,
    job_ids: list[int],
    t0: int,
    t1: int,
) -> None:
    """Invoice newly completed jobs and plan when each invoice is paid."""
    jobs = conn.execute(
        f"select j.job_id, j.customer_id, {sql_us('j.completed_at')}, j.total_amount_cents, c.customer_type = 'commercial'"
        " from public.jobs j join public.customers c on c.customer_id = j.customer_id where j.job_id = any(%s) order by j.job_id",
        (job_ids,),
    ).fetchall()
    if not jobs:
        return
    first = next_id(
        state, "quickbooks.invoice", saas, "select max(id) from quickbooks.invoice", len(jobs)
    )
    ids = first + np.arange(len(jobs))
    job_id, customer, completed, total, commercial = (np.array(c) for c in zip(*jobs, strict=True))
    created = np.clip(
        completed + (uniform(state.seed, "inv_delay", job_id) * 2 * HOUR_US).astype(np.int64),
        t0,
        t1 - 1,
    )
    due = (completed // DAY_US + quickbooks.due_days(commercial)) * DAY_US
    n = len(ids)
    copy_table(
        saas,
        "quickbooks.invoice",
        pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "doc_number": ac.join("INV-", ac.num_str(ids, 7)),
                "customer_ref": pa.array(customer, pa.int64()),
                "job_id": pa.array(job_id, pa.int64()),
                "tenant": pa.array([tenant] * n),
                "txn_date": ac.date(completed),
                "due_date": ac.date(due),
                "total_amt": ac.money(total),
                "balance": ac.money(total),
                "status": pa.array(["Open"] * n),
                "currency": pa.array([quickbooks.CURRENCY] * n),
                "created_at": ac.ts(created),
                "updated_at": ac.ts(created),
            }
        ),
    )
    for inv, jid, at in zip(ids, job_id, created, strict=True):
        _write_invoice_lines(conn, saas, int(inv), int(jid), int(at))
    pay = quickbooks.payment_plan(state.seed, ids, created, commercial.astype(bool))
    copy_table(
        saas,
        "sim.pending_payments",
        pa.table(
            {
                "invoice_id": pa.array(ids, pa.int64()),
                "pay_at": ac.ts(pay["pay_at"]),
                "method": ac.pick(vocab.PAYMENT_METHODS, pay["method"]),
            }
        ),
    )


def _write_invoice_lines(
    conn: psycopg.Connection, saas: psycopg.Connection, invoice_id: int, job_id: int, at: int
) -> None:
    items = conn.execute(
        "select description, item_type, amount_cents from public.job_line_items where job_id = %s order by line_item_id",
        (job_id,),
    ).fetchall()
    saas.cursor().executemany(
        "insert into quickbooks.invoice_line values (%s, %s, %s, %s, %s / 100.0, %s)"
        " on conflict (invoice_id, line_num) do update set description = excluded.description,"
        " item_type = excluded.item_type, amount = excluded.amount, updated_at = excluded.updated_at"
        " where (quickbooks.invoice_line.description, quickbooks.invoice_line.amount)"
        " is distinct from (excluded.description, excluded.amount)",
        [(invoice_id, i + 1, d, t, a, ts(at)) for i, (d, t, a) in enumerate(items)],
    )


def retotal_invoice(
    conn: psycopg.Connection, saas: psycopg.Connection, tenant: str, job_id: int, at: int
) -> None:
    """Bring an unpaid invoice in line with its corrected job (total and lines)."""
    total = conn.execute(
        "select total_amount_cents from public.jobs where job_id = %s", (job_id,)
    ).fetchone()
    inv = saas.execute(
        "update quickbooks.invoice set total_amt = %s / 100.0, balance = %s / 100.0, updated_at = %s"
        " where tenant = %s and job_id = %s and status in ('Open', 'Overdue') returning id",
        (total[0], total[0], ts(at), tenant, job_id),
    ).fetchone()
    if inv:
        _write_invoice_lines(conn, saas, inv[0], job_id, at)


def payments(saas: psycopg.Connection, state: EstateState, t0: int, t1: int) -> None:
    """Record the payments falling due in the step, then mark unpaid past-due invoices."""
    due = saas.execute(
        f"select p.invoice_id, {sql_us('p.pay_at')}, p.method, i.customer_ref, (i.total_amt * 100)::bigint"
        " from sim.pending_payments p join quickbooks.invoice i on i.id = p.invoice_id"
        " where p.pay_at < %s order by p.pay_at, p.invoice_id",
        (ts(t1),),
    ).fetchall()
    if due:
        first = next_id(
            state, "quickbooks.payment", saas, "select max(id) from quickbooks.payment", len(due)
        )
        rows = []
        for k, (inv, pay_at, method, customer, cents) in enumerate(due):
            at = ts(min(max(pay_at, t0), t1 - 1))
            rows.append((first + k, inv, customer, at.date(), cents / 100, method, at, at))
            saas.execute(
                "update quickbooks.invoice set balance = 0, status = 'Paid', updated_at = %s where id = %s",
                (at, inv),
            )
        saas.cursor().executemany(
            "insert into quickbooks.payment values (%s, %s, %s, %s, %s, %s, %s, %s)", rows
        )
        saas.execute(
            "delete from sim.pending_payments where invoice_id = any(%s)", ([r[0] for r in due],)
        )
    saas.execute(
        "update quickbooks.invoice set status = 'Overdue', updated_at = %s where status = 'Open' and due_date < %s",
        (ts(t0), ts(t1 - 1).date()),
    )


def void_invoice(saas: psycopg.Connection, tenant: str, job_id: int, at: int) -> None:
    """Void the invoice of a deleted job: zero amounts, and no payment will follow."""
    inv = saas.execute(
        "update quickbooks.invoice set status = 'Voided', total_amt = 0, balance = 0, updated_at = %s"
        " where tenant = %s and job_id = %s returning id",
        (ts(at), tenant, job_id),
    ).fetchone()
    if inv:
        saas.execute(
            "update quickbooks.invoice_line set amount = 0, updated_at = %s where invoice_id = %s",
            (ts(at), inv[0]),
        )
        saas.execute("delete from sim.pending_payments where invoice_id = %s", (inv[0],))

"""Salesforce in a step: accounts for new customers, soft deletes, cases, opportunities."""

from __future__ import annotations

import numpy as np
import psycopg

from standins.sources import catalog, vocab
from standins.sources.changes.common import STEP_US, Static, event_rate, next_id, ts
from standins.sources.config import MINUTE_US, Volumes
from standins.sources.state import EstateState


def new_accounts(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    st: Static,
    customer_ids: list[int],
    t0: int,
    t1: int,
) -> None:
    """An account and its primary contact for every new Jobs DB customer."""
    rows = conn.execute(
        "select customer_id, first_name, last_name, email, phone, city, state, region_id, customer_type"
        " from public.customers where customer_id = any(%s) order by customer_id",
        (customer_ids,),
    ).fetchall()
    for cid, first, last, email, phone, city, st_code, region, ctype in rows:
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        acct = f"001{cid:015d}"
        commercial = ctype == "commercial"
        name = (
            f"{last} {vocab.COMPANY_SUFFIXES[cid % len(vocab.COMPANY_SUFFIXES)]}"
            if commercial
            else f"{first} {last}"
        )
        saas.execute(
            'insert into salesforce."Account" values (%s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s)',
            (
                acct,
                name,
                "Commercial" if commercial else "Residential",
                vocab.INDUSTRIES[cid % len(vocab.INDUSTRIES)] if commercial else None,
                city,
                st_code,
                region,
                cid,
                st.tenant.name,
                at,
                at,
            ),
        )
        contact_no = next_id(
            state,
            f"salesforce.{st.tenant.name}.contact",
            saas,
            f"""select coalesce(max(right("Id", 15)::bigint), {st.tenant.id_base}) from salesforce."Contact"
                where "Id" like '003{st.tenant.index:07d}%'""",
            1,
        )
        saas.execute(
            'insert into salesforce."Contact" values (%s, %s, %s, %s, %s, %s, %s, false, %s, %s)',
            (
                f"003{contact_no:015d}",
                acct,
                first,
                last,
                email,
                phone,
                "Facilities Manager" if commercial else "Homeowner",
                at,
                at,
            ),
        )


def activity(
    saas: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    vol: Volumes,
    t0: int,
    t1: int,
) -> None:
    """New and closed cases, opportunities moving a stage."""
    customers_total = vol.customers * len(state.tenants)
    for _ in range(int(rng.poisson(event_rate(customers_total, 0.15 / 90)))):
        tenant = state.tenants[int(rng.integers(0, len(state.tenants)))]
        # The account is picked first and its contact looked up for it alone: a subquery in the
        # outer select list ran for every row the offset skipped (minutes a step at scale 1.0).
        acct = saas.execute(
            'select a."Id", (select min(c."Id") from salesforce."Contact" c where c."AccountId" = a."Id")'
            ' from (select "Id" from salesforce."Account" where not "IsDeleted" and "Tenant__c" = %s'
            ' order by "Id" offset %s limit 1) as a',
            (tenant, int(rng.integers(0, max(vol.customers, 1)))),
        ).fetchone()
        if acct is None:
            continue
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        # cases opened by the stream get their own id range above every tenant's
        state.counters.setdefault("salesforce.case", 9 * catalog.ID_OFFSET)
        state.counters["salesforce.case"] += 1
        case_no = state.counters["salesforce.case"]
        saas.execute(
            'insert into salesforce."Case" values (%s, %s, %s, %s, %s, %s, %s, false, null, false, %s, %s)',
            (
                f"500{case_no:015d}",
                acct[0],
                acct[1],
                vocab.CASE_SUBJECTS[int(rng.integers(0, len(vocab.CASE_SUBJECTS)))],
                "New",
                vocab.CASE_PRIORITIES[int(rng.integers(0, 3))],
                vocab.CASE_ORIGINS[int(rng.integers(0, 3))],
                at,
                at,
            ),
        )
    for _ in range(int(rng.poisson(event_rate(customers_total, 0.15 / 90)))):
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        saas.execute(
            'update salesforce."Case" set "Status" = \'Closed\', "IsClosed" = true, "ClosedDate" = %s, "SystemModstamp" = %s'
            ' where "Id" = (select "Id" from salesforce."Case" where not "IsClosed" and not "IsDeleted" order by "Id" limit 1)',
            (at, at),
        )
    for _ in range(int(rng.poisson(event_rate(customers_total, 0.02)))):
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        row = saas.execute(
            'select "Id", "StageName" from salesforce."Opportunity" where not "IsClosed" and not "IsDeleted"'
            ' order by "SystemModstamp", "Id" limit 1'
        ).fetchone()
        if row is None:
            break
        stage = vocab.OPPORTUNITY_STAGES.index(row[1])
        nxt = stage + 1 if stage < 3 else (4 if rng.random() < 0.55 else 5)
        closed = nxt >= 4
        saas.execute(
            'update salesforce."Opportunity" set "StageName" = %s, "IsClosed" = %s, "IsWon" = %s,'
            ' "CloseDate" = case when %s then %s::date else "CloseDate" end, "SystemModstamp" = %s where "Id" = %s',
            (vocab.OPPORTUNITY_STAGES[nxt], closed, nxt == 4, closed, at.date(), at, row[0]),
        )


def soft_delete_account(saas: psycopg.Connection, customer_id: int, at: int, t1: int) -> None:
    """Flag a closed customer's account and everything under it as deleted (``IsDeleted``)."""
    acct = f"001{customer_id:015d}"
    stamp = ts(min(at + 5 * MINUTE_US, t1 - 1))
    saas.execute(
        'update salesforce."Account" set "IsDeleted" = true, "SystemModstamp" = %s where "Id" = %s',
        (stamp, acct),
    )
    for obj in ("Contact", "Opportunity", "Case"):
        saas.execute(
            f'update salesforce."{obj}" set "IsDeleted" = true, "SystemModstamp" = %s where "AccountId" = %s',
            (stamp, acct),
        )

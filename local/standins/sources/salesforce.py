"""Salesforce CRM: one Account per customer, its Contacts, Opportunities and Cases.

Ids keep Salesforce's shape (18 characters, key prefix ``001`` Account, ``003`` Contact,
``006`` Opportunity, ``500`` Case) and embed the tenant's id range so that every process
derives the same id for the same record. Deleting a customer soft-deletes the Account and
everything under it (``IsDeleted``), as Salesforce's recycle bin does.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import vocab
from standins.sources.config import DAY_US, MINUTE_US, start_us
from standins.sources.jobsdb import Customers, Tenant, people
from standins.sources.rand import choice, stream

PREFIX = {"Account": "001", "Contact": "003", "Opportunity": "006", "Case": "500"}


def sf_id(object_name: str, numbers: np.ndarray) -> pa.Array:
    """Salesforce-shaped 18-character ids for sequence numbers of an object."""
    return ac.ids(PREFIX[object_name], numbers)


def salesforce(seed: int, tenant: Tenant, cust: Customers, now_us: int) -> dict[str, pa.Table]:
    """The tenant's share of the Salesforce org, consistent with its customers."""
    rng = stream(seed, tenant.index, "salesforce")
    n = len(cust.ids)
    deleted = cust.deleted >= 0
    acct_created = np.minimum(cust.created + rng.integers(2, 31, n) * MINUTE_US, now_us)
    acct_mod = np.where(
        deleted, np.maximum(cust.deleted + 5 * MINUTE_US, acct_created), acct_created
    )
    acct_mod = np.minimum(acct_mod, now_us)
    residential_name = ac.join(
        ac.pick(vocab.FIRST_NAMES, cust.first), " ", ac.pick(vocab.LAST_NAMES, cust.last)
    )
    name = pa.array(
        np.where(
            cust.commercial,
            cust.company_name().to_numpy(zero_copy_only=False),
            residential_name.to_numpy(zero_copy_only=False),
        )
    )
    account = pa.table(
        {
            "Id": sf_id("Account", cust.ids),
            "Name": name,
            "Type": ac.pick(("Residential", "Commercial"), cust.commercial.astype(np.int32)),
            "Industry": ac.pick(
                vocab.INDUSTRIES, rng.integers(0, len(vocab.INDUSTRIES), n), cust.commercial
            ),
            "BillingCity": pa.array(cust.city),
            "BillingState": pa.array(cust.state),
            "Region__c": pa.array(cust.region_id, pa.int32()),
            "Customer_Id__c": pa.array(cust.ids, pa.int64()),
            "Tenant__c": pa.array([tenant.name] * n, pa.string()),
            "IsDeleted": pa.array(deleted),
            "CreatedDate": ac.ts(acct_created),
            "SystemModstamp": ac.ts(acct_mod),
        }
    )

    # contacts: the customer themselves, plus colleagues at commercial accounts
    per = np.where(cust.commercial, rng.integers(1, 4, n), 1)
    owner = np.repeat(np.arange(n), per)
    first_of_account = np.concatenate([[True], owner[1:] != owner[:-1]])
    m = len(owner)
    f_idx, l_idx = people(rng, m)
    f_idx = np.where(first_of_account, cust.first[owner], f_idx)
    l_idx = np.where(first_of_account, cust.last[owner], l_idx)
    first_s, last_s = ac.pick(vocab.FIRST_NAMES, f_idx), ac.pick(vocab.LAST_NAMES, l_idx)
    contact_no = tenant.id_base + 1 + np.arange(m)
    title_idx = np.where(
        cust.commercial[owner], rng.integers(0, len(vocab.CONTACT_TITLES_COMMERCIAL), m), -1
    )
    titles = ("Homeowner", *vocab.CONTACT_TITLES_COMMERCIAL)
    contact_created = np.minimum(
        acct_created[owner] + rng.integers(0, 30, m) * DAY_US * (~first_of_account), now_us
    )
    contact = pa.table(
        {
            "Id": sf_id("Contact", contact_no),
            "AccountId": sf_id("Account", cust.ids[owner]),
            "FirstName": first_s,
            "LastName": last_s,
            "Email": ac.lower(
                ac.join(
                    ac.strip_spaces(first_s),
                    ".",
                    ac.strip_spaces(last_s),
                    ac.num_str(contact_no % 991),
                    "@",
                    ac.pick(vocab.EMAIL_DOMAINS, rng.integers(0, len(vocab.EMAIL_DOMAINS), m)),
                )
            ),
            "Phone": ac.join(
                "(",
                ac.num_str(rng.integers(201, 990, m), 3),
                ") ",
                ac.num_str(rng.integers(200, 1000, m), 3),
                "-",
                ac.num_str(rng.integers(0, 10_000, m), 4),
            ),
            "Title": ac.pick(titles, title_idx + 1),
            "IsDeleted": pa.array(deleted[owner]),
            "CreatedDate": ac.ts(contact_created),
            "SystemModstamp": ac.ts(np.maximum(contact_created, acct_mod[owner])),
        }
    )
    first_contact = np.flatnonzero(first_of_account)

    # opportunities: mostly commercial accounts
    n_opp = np.where(
        cust.commercial, rng.integers(0, 3, n), (rng.random(n) < 0.08).astype(np.int64)
    )
    opp_owner = np.repeat(np.arange(n), n_opp)
    k = len(opp_owner)
    opp_created = np.maximum(acct_created[opp_owner], start_us() - 120 * DAY_US)
    opp_created = opp_created + (rng.random(k) * np.maximum(now_us - opp_created, 0)).astype(
        np.int64
    )
    close = opp_created + rng.integers(14, 91, k) * DAY_US
    age = (now_us - opp_created) / (close - opp_created)
    stage = np.where(
        age >= 1, np.where(rng.random(k) < 0.55, 4, 5), np.minimum((age * 4).astype(np.int64), 3)
    )
    opp_mod = np.minimum(
        opp_created + ((now_us - opp_created) * rng.random(k)).astype(np.int64), now_us
    )
    opp_mod = np.where(stage >= 4, np.minimum(close, now_us), opp_mod)
    opp_mod = np.maximum(opp_mod, acct_mod[opp_owner])
    amount = np.round(np.exp(rng.normal(np.log(4_000), 1.0, k)), -1).astype(np.int64) * 100
    opportunity = pa.table(
        {
            "Id": sf_id("Opportunity", tenant.id_base + 1 + np.arange(k)),
            "AccountId": sf_id("Account", cust.ids[opp_owner]),
            "Name": ac.join(
                ac.pick(vocab.OPPORTUNITY_NAMES, rng.integers(0, len(vocab.OPPORTUNITY_NAMES), k)),
                " - ",
                ac.pick(vocab.LAST_NAMES, cust.last[opp_owner]),
            ),
            "StageName": ac.pick(vocab.OPPORTUNITY_STAGES, stage),
            "Amount": ac.money(amount),
            "CloseDate": ac.date(close),
            "IsClosed": pa.array(stage >= 4),
            "IsWon": pa.array(stage == 4),
            "IsDeleted": pa.array(deleted[opp_owner]),
            "CreatedDate": ac.ts(opp_created),
            "SystemModstamp": ac.ts(opp_mod),
        }
    )

    # cases: complaints and questions during the history
    has_case = rng.random(n) < 0.15
    case_owner = np.flatnonzero(has_case)
    c = len(case_owner)
    case_created = np.maximum(acct_created[case_owner], start_us())
    case_created = case_created + (rng.random(c) * np.maximum(now_us - case_created, 0)).astype(
        np.int64
    )
    closed_at = case_created + (rng.uniform(0.1, 12, c) * DAY_US).astype(np.int64)
    is_closed = closed_at <= now_us
    status = np.where(is_closed, 3, choice(rng.random(c), [0.5, 0.4, 0.1]))
    case_mod = np.maximum(np.where(is_closed, closed_at, case_created), acct_mod[case_owner])
    case = pa.table(
        {
            "Id": sf_id("Case", tenant.id_base + 1 + np.arange(c)),
            "AccountId": sf_id("Account", cust.ids[case_owner]),
            "ContactId": sf_id("Contact", contact_no[first_contact[case_owner]]),
            "Subject": ac.pick(vocab.CASE_SUBJECTS, rng.integers(0, len(vocab.CASE_SUBJECTS), c)),
            "Status": ac.pick(vocab.CASE_STATUSES, status),
            "Priority": ac.pick(vocab.CASE_PRIORITIES, choice(rng.random(c), [0.5, 0.35, 0.15])),
            "Origin": ac.pick(vocab.CASE_ORIGINS, choice(rng.random(c), [0.5, 0.3, 0.2])),
            "IsClosed": pa.array(is_closed),
            "ClosedDate": ac.ts(closed_at, is_closed),
            "IsDeleted": pa.array(deleted[case_owner]),
            "CreatedDate": ac.ts(case_created),
            "SystemModstamp": ac.ts(case_mod),
        }
    )
    return {"Account": account, "Contact": contact, "Opportunity": opportunity, "Case": case}

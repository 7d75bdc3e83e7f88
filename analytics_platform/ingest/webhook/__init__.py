"""The Fivetran webhook receiver: ``sync_end`` in, materializations of changed tables out.

Fivetran POSTs each event with ``X-Fivetran-Signature-256``, the HMAC-SHA256 of the raw body
under the webhook's secret (:mod:`.signing`). A request without a valid signature gets 401 and
changes nothing (:mod:`.app`). On a verified ``sync_end`` the receiver measures what the sync
changed in the destination (:mod:`.observer`) and reports those tables to the Dagster
webserver's REST endpoint (:mod:`.reporting`); the SLA planner then rebuilds what is
downstream. A failed sync is reported as an observation (visible in the UI), never as a
materialization, so nothing downstream runs.

Two more duties make the path lossless and economical:

* **Debounce** (:mod:`.debounce`): reports are held while another sync is in flight (a
  ``sync_start`` with no ``sync_end`` yet), then released together the moment none is, so
  connectors that sync side by side trigger one rebuild of what they share, and a sync with no
  other in flight is reported at once. Reports that
  fail to reach Dagster are kept and retried, never dropped.
* **Sweep** (:mod:`.sweep`): at start-up and then periodically the receiver asks the Fivetran
  API for each connector's last sync, so a sync that ended while the receiver was down, or whose
  webhook Fivetran gave up delivering, is still reported.

The receiver keeps no state of its own: its watermarks are what the Dagster instance already
holds (each landed table's latest materialization, read through the webserver,
:mod:`.reporting`), so a killed receiver restarts where Dagster's record ends (:mod:`.observer`).

Run it next to the Dagster webserver: ``python -m analytics_platform.ingest.webhook --port P
--public-url URL`` (:mod:`.cli`). With a public URL the receiver keeps exactly one account
webhook of its own at that URL while it runs (:mod:`.registration`): it updates the one it
registered before, deletes its stale ones, leaves everybody else's alone, and removes its own at
shutdown.
"""

from analytics_platform.ingest.webhook.app import create_app
from analytics_platform.ingest.webhook.cli import main
from analytics_platform.ingest.webhook.debounce import Debouncer
from analytics_platform.ingest.webhook.observer import Event, SyncObserver
from analytics_platform.ingest.webhook.registration import (
    RegistrationError,
    WebhookRegistration,
)
from analytics_platform.ingest.webhook.reporting import graphql_reported, report
from analytics_platform.ingest.webhook.signing import SIGNATURE_HEADER, signature, verify
from analytics_platform.ingest.webhook.sweep import SWEEP_INTERVAL_S, start_sweep

__all__ = [
    "SIGNATURE_HEADER",
    "SWEEP_INTERVAL_S",
    "Debouncer",
    "Event",
    "RegistrationError",
    "SyncObserver",
    "WebhookRegistration",
    "create_app",
    "graphql_reported",
    "main",
    "report",
    "signature",
    "start_sweep",
    "verify",
]

"""The reconcile flow: each journaled order's decided refund against what each payer's provider confirmed."""

from refundctl.reconcile.run import COLUMNS, TOTAL_COLUMNS, Reconciled, Reconciliation, reconcile, reconcile_journal

__all__ = ["COLUMNS", "TOTAL_COLUMNS", "Reconciled", "Reconciliation", "reconcile", "reconcile_journal"]

"""The settle flow: record platform legs paid by hand (journaled ``manual``) as paid, with their references."""

from refundctl.settle.run import COLUMNS, HandPayment, read_payments, settle

__all__ = ["COLUMNS", "HandPayment", "read_payments", "settle"]

"""The report flow: submit journals (one per shard) merged into one report, led by the share of orders settled
without a person."""

from refundctl.report.run import SECTIONS, Report, load_report

__all__ = ["SECTIONS", "Report", "load_report"]

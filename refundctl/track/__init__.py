"""The track flow: journaled refunds with their age, due date and lateness, optionally synced with the API."""

from refundctl.track.run import COLUMNS, find_journal, follow, track_row

__all__ = ["COLUMNS", "find_journal", "follow", "track_row"]

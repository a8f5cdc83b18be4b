"""The track flow: journaled legs with their age, due date and lateness, optionally synced with both providers."""

from refundctl.track.run import COLUMNS, Followed, find_journal, follow, track_rows

__all__ = ["COLUMNS", "Followed", "find_journal", "follow", "track_rows"]

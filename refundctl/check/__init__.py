"""The check flow: decide every order of a batch, in input order, and tally the outcome.

``batch`` decides a stream of records, chunk by chunk, in this process or in a pool of workers;
``run`` streams the output rows (all or nothing without ``keep_going``), collects
the bad records and the refundable totals, and writes the error report.
"""

from refundctl.check.batch import Chunk, Job, decide_chunk, decide_records
from refundctl.check.run import (
    CSV_COLUMNS,
    DEFAULT_JOBS,
    TABLE_COLUMNS,
    Tally,
    bad_records,
    check_report_path,
    default_report,
    run_check,
    write_report,
)

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_JOBS",
    "TABLE_COLUMNS",
    "Chunk",
    "Job",
    "Tally",
    "bad_records",
    "check_report_path",
    "decide_chunk",
    "decide_records",
    "default_report",
    "run_check",
    "write_report",
]

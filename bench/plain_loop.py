"""The baseline for `check`: parse and re-serialise each JSON line, nothing else."""

import json
import sys

with open(sys.argv[1], encoding="utf-8") as handle:
    out = sys.stdout
    for line in handle:
        out.write(json.dumps(json.loads(line), separators=(",", ":")) + "\n")

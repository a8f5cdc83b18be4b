"""The baseline for `check`: parse and re-serialise each JSON line, nothing else.

``python plain_loop.py FILE`` uses the standard library (the baseline the README's
ratio is against); ``python plain_loop.py FILE orjson`` uses orjson, as `check` does.
"""

import json
import sys

import orjson

with open(sys.argv[1], encoding="utf-8") as handle:
    out = sys.stdout
    if sys.argv[2:] == ["orjson"]:
        for line in handle:
            out.write(orjson.dumps(orjson.loads(line)).decode() + "\n")
    else:
        for line in handle:
            out.write(json.dumps(json.loads(line), separators=(",", ":")) + "\n")

"""Tallies a kosoku (Autobahn fuzzingclient) report: behaviour counts per case group.

Usage: autobahn_tally.py OUTDIR. Exits 1 when any case is not OK (only the cases Autobahn
itself defines as INFORMATIONAL -- 7.1.6, 7.13.1, 7.13.2 -- may be INFORMATIONAL).
"""
import collections
import json
import sys

INFORMATIONAL = {"7.1.6", "7.13.1", "7.13.2"}

index = json.load(open(f"{sys.argv[1]}/index.json"))
bad = []
tally = collections.defaultdict(collections.Counter)
for agent, cases in index.items():
    for case, r in cases.items():
        group = case.split(".")[0]
        tally[group][r["behavior"]] += 1
        allowed = {"OK", "INFORMATIONAL"} if case in INFORMATIONAL else {"OK"}
        if r["behavior"] not in allowed or r["behaviorClose"] not in allowed:
            bad.append(f"{case}: behavior={r['behavior']} close={r['behaviorClose']}")
total = 0
for group in sorted(tally, key=int):
    counts = tally[group]
    total += sum(counts.values())
    print(f"group {group:>2}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
print(f"{total} cases, {len(bad)} not OK")
for line in bad:
    print("NOT OK", line)
sys.exit(1 if bad or total == 0 else 0)

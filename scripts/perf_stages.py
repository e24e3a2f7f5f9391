#!/usr/bin/env python3
"""Groups a `perf record` profile of recstream by pipeline stage.

Usage: scripts/perf_stages.py PERF_DATA [US_PER_EVENT]

Sums the self time of every symbol (`perf report --no-children`) into the
stage its function belongs to (the first pattern that matches) and prints
each stage's share; with US_PER_EVENT (the measured CPU per event) also
the microseconds per event each share stands for. docs/PERFORMANCE.md
builds its per-stage tables with it:

    perf record -F 999 -o /tmp/perf.data build/app/recstream replay -i IN -o OUT
    scripts/perf_stages.py /tmp/perf.data 39.3
"""
import re
import subprocess
import sys

STAGES = [
    ("candidates + ranking",
     r"ModelRecommender|Ranker::|TopList<unsigned int>::Top|introselect|introsort|insertion_sort|"
     r"UserEncoder|DotHalf|heap|ieee754_exp|expf|exp@|__exp|log1pf|w_log1pf"),
    ("embedding training", r"EmbeddingModel|EmbeddingTable|FenwickSampler|SplitMix|TrainPair"),
    ("statistics (item model, user state)", r"ItemModel::|UserState::|RefreshRankings|AddSpaceSaving"),
    ("publish (serialise, file sink)", r"JsonWriter|ListSerializer|FileSink|to_chars|PublishOperator"),
    ("parse", r"Parser::|simdjson|ParseOperator|LineReader|FileSource"),
    ("state (RocksDB, codecs, checkpoint, kernel)",
     r"rocksdb|state::|\[k\]|Checkpoint|Encode|Decode|crc32|[Ss]nappy|lz4|LZ4|ZSTD"),
]
OTHER = "other (allocation, memcpy, hashing)"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    us = float(sys.argv[2]) if len(sys.argv) == 3 else None
    report = subprocess.run(
        ["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "symbol", "-g", "none",
         "--percent-limit", "0"], capture_output=True, text=True)
    if report.returncode != 0:
        sys.exit("perf report failed: " + report.stderr.strip())
    totals = {name: 0.0 for name, _ in STAGES}
    totals[OTHER] = 0.0
    for line in report.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if not m:
            continue
        share, symbol = float(m.group(1)), m.group(2)
        stage = next((name for name, pattern in STAGES if re.search(pattern, symbol)), OTHER)
        totals[stage] += share
    whole = sum(totals.values()) or 1.0
    for name, share in totals.items():
        pct = share / whole * 100
        print(f"{name:45s} {pct:5.1f} %" + (f"  {pct / 100 * us:6.1f} µs" if us is not None else ""))


if __name__ == "__main__":
    main()

"""Text encoding benchmark: sentences/s for the default MiniLM model on this machine's CPU.

    python bench/encode_text.py                        # 2000 MetaTool queries, batches 16/64/256
    python bench/encode_text.py --sentences 5000 --batch-sizes 32,128 --runs 5

Encodes real search text (the `query` column of MetaTool's queries.csv, found through
UNFRAGILE_METATOOL_DIR or ../shared/metatool next to the repository) through
indexing.text.TextEncoder, exactly as indexing does, on the CPU. Each batch size is timed
--runs times after one warm-up pass; the figure is the median run.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

from common import Columns, command, machine, metatool_dir, stamp_lines

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from unfragile.indexing.text import TextEncoder, resolve_text_model  # noqa: E402


def load_queries(n: int) -> tuple[list[str], Path]:
    path = metatool_dir() / "queries.csv"
    if not path.is_file():
        sys.exit(f"error: {path} not found; set UNFRAGILE_METATOOL_DIR to the MetaTool folder")
    with open(path, newline="", encoding="utf-8") as f:
        texts = [row["query"] for row in csv.DictReader(f) if row.get("query")]
    # Distinct texts in file order: repeats would not change the speed, but real input is
    # deduplicated Query nodes.
    texts = list(dict.fromkeys(texts))[:n]
    return texts, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=2000, help="texts encoded per run")
    parser.add_argument("--batch-sizes", default="16,64,256")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default=None, help="model name or path (default: MiniLM)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures show up as they come, even in a log

    import torch

    texts, source = load_queries(args.sentences)
    words = statistics.mean(len(t.split()) for t in texts)
    print("\n".join(stamp_lines(machine(), command())))
    print(f"torch:    {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    t0 = time.perf_counter()
    encoder = TextEncoder(args.model, device="cpu")
    print(
        f"model:    {encoder.name} ({resolve_text_model(args.model)}), dim {encoder.dim}, "
        f"loaded in {time.perf_counter() - t0:.1f} s"
    )
    print(f"text:     {len(texts)} distinct queries from {source} (mean {words:.1f} words)")
    table = Columns(
        ("batch", ">5"),
        ("sentences/s (median)", ">20,.0f"),
        ("min", ">7,.0f"),
        ("max", ">7,.0f"),
        ("runs", ""),
    )
    print("\n" + table.header())
    encoder.encode(texts[:256])  # warm-up: first calls pay for allocation and kernel choice
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        encoder.batch_size = batch
        rates = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            encoder.encode(texts)
            rates.append(len(texts) / (time.perf_counter() - t0))
        print(table.row(batch, statistics.median(rates), min(rates), max(rates), args.runs))


if __name__ == "__main__":
    main()

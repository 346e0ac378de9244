"""Text encoding benchmark: sentences/s for the default MiniLM model on this machine's CPU.

    python bench/encode_text.py                        # 2000 MetaTool queries, batches 16/64/256
    python bench/encode_text.py --sentences 5000 --batch-sizes 32,128 --runs 5
    python bench/encode_text.py --backends torch,onnx  # both backends, interleaved (default)

Encodes real search text (the `query` column of MetaTool's queries.csv, found through
UNFRAGILE_METATOOL_DIR or ../shared/metatool next to the repository) through
indexing.text.TextEncoder, exactly as indexing does, on the CPU, with each backend (PyTorch via
sentence-transformers, ONNX Runtime), the backends taking turns within each run so that a
noisy machine weighs on both alike. Each batch size is timed --runs times after one warm-up
pass; the figure is the median run. Then single queries, one at a time, as a search encodes
them: p50 and p99 per backend, and the cosine between the two backends' vectors.
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
    parser.add_argument("--backends", default="torch,onnx", help="TextEncoder backends")
    parser.add_argument("--single", type=int, default=300, help="single queries timed")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures show up as they come, even in a log

    import torch

    texts, source = load_queries(args.sentences)
    words = statistics.mean(len(t.split()) for t in texts)
    print("\n".join(stamp_lines(machine(), command())))
    print(f"torch:    {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    # One thread each, as the latency benchmark runs the engine (ONNX Runtime reads it at load).
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    encoders = {}
    for backend in args.backends.split(","):
        t0 = time.perf_counter()
        encoders[backend] = TextEncoder(args.model, backend=backend)
        print(
            f"model:    {encoders[backend].name} ({resolve_text_model(args.model)}), "
            f"backend {backend}, dim {encoders[backend].dim}, "
            f"loaded in {time.perf_counter() - t0:.1f} s"
        )
    print(f"text:     {len(texts)} distinct queries from {source} (mean {words:.1f} words)")
    table = Columns(
        ("backend", "<8"),
        ("batch", ">5"),
        ("sentences/s (median)", ">20,.0f"),
        ("min", ">7,.0f"),
        ("max", ">7,.0f"),
        ("runs", ""),
    )
    print("\n" + table.header())
    for encoder in encoders.values():
        encoder.encode(texts[:256])  # warm-up: first calls pay for allocation and kernel choice
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        rates: dict[str, list[float]] = {name: [] for name in encoders}
        for _ in range(args.runs):
            for name, encoder in encoders.items():
                encoder.batch_size = batch
                t0 = time.perf_counter()
                encoder.encode(texts)
                rates[name].append(len(texts) / (time.perf_counter() - t0))
        for name, got in rates.items():
            print(table.row(name, batch, statistics.median(got), min(got), max(got), args.runs))
    single: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, list] = {name: [] for name in encoders}
    for text in texts[: args.single]:
        for name, encoder in encoders.items():
            t0 = time.perf_counter()
            vectors[name].append(encoder.encode([text])[0])
            single[name].append((time.perf_counter() - t0) * 1000)
    print(f"\none query at a time ({len(single[next(iter(single))])} queries):")
    for name, ms in single.items():
        ms.sort()
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        print(f"  {name:<8} p50 {statistics.median(ms):6.2f} ms   p99 {p99:6.2f} ms")
    if {"torch", "onnx"} <= set(vectors):
        cos = [float(a @ b) for a, b in zip(vectors["torch"], vectors["onnx"], strict=True)]
        print(f"  cosine torch vs onnx: mean {statistics.fmean(cos):.7f}, min {min(cos):.7f}")


if __name__ == "__main__":
    main()

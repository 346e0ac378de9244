"""Image-encoding benchmark: images/s of a ViT-B/16-sized model through indexing.images.

    python bench/encode_images.py                      # CPU, fp32, batch sizes 1, 8, 32
    python bench/encode_images.py --device cuda --dtype fp16 --batches 32,64,128,256,512
    python bench/encode_images.py --modes model --repeat 5 --json

The model has ViTConfig's defaults (224 px, patch 16, hidden 768, 12 layers, 86M parameters,
the shape of google/vit-base-patch16-224) with random weights: speed does not depend on the
values. It is built in memory, saved to a temporary folder and loaded through ImageEncoder, so
the timed code is the engine's own. Nothing is downloaded.

Two figures per batch size, each the median of --repeat timed runs after one warm-up run:

- model:  the forward pass alone on ready 224x224 pixel tensors (what the accelerator does);
- encode: ImageEncoder.encode on 640x480 PIL images, preprocessing (resize, normalise) and
          host<->device copies included (what `unfragile images add` sees).

On CUDA every timing is bracketed by torch.cuda.synchronize().
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import Columns, command, machine, stamp_lines
from PIL import Image

from unfragile.indexing.images import ImageEncoder

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--batches", default="1,8,32", help="comma-separated batch sizes")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--modes", default="model,encode", help="model, encode or both")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.batches or min(args.batches) < 1:
        parser.error("--batches needs positive integers")
    if not set(args.modes) <= {"model", "encode"}:
        parser.error("--modes takes model and/or encode")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def machine_info(device: str) -> dict[str, object]:
    # diffusers is not installed on every GPU image: its version is then None.
    info: dict[str, object] = machine("torch", "transformers", "diffusers")
    info["torch_threads"] = torch.get_num_threads()
    info["torch_interop_threads"] = torch.get_num_interop_threads()
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def build_vit_b16(folder: Path) -> Path:
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    ViTModel(ViTConfig(), add_pooling_layer=False).save_pretrained(folder, safe_serialization=True)
    ViTImageProcessor().save_pretrained(folder)
    return folder


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))


def timed(device: str, work) -> float:
    sync(device)
    start = time.perf_counter()
    work()
    sync(device)
    return time.perf_counter() - start


def bench_batch(encoder: ImageEncoder, batch: int, modes: list[str], repeat: int) -> dict:
    device = encoder.device
    row: dict[str, object] = {"batch": batch}
    if "model" in modes:
        pixels = torch.randn(batch, 3, 224, 224).to(device, dtype=encoder.dtype)

        def forward() -> None:
            with torch.inference_mode():
                encoder.model(pixel_values=pixels).last_hidden_state[:, 0].float()

        forward()  # warm-up: kernel selection, allocator, lazy initialisation
        seconds = [timed(device, forward) for _ in range(repeat)]
        row["model_images_per_s"] = batch / statistics.median(seconds)
        row["model_runs_s"] = seconds
    if "encode" in modes:
        rng = np.random.default_rng(0)
        images = [
            Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), "RGB")
            for _ in range(batch)
        ]
        encoder.batch_size = batch

        def encode() -> None:
            encoder.encode(images)

        encode()
        seconds = [timed(device, encode) for _ in range(repeat)]
        row["encode_images_per_s"] = batch / statistics.median(seconds)
        row["encode_runs_s"] = seconds
    return row


def main() -> int:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    dtype = DTYPES[args.dtype]
    info = machine_info(args.device)
    print("\n".join(stamp_lines(info, command())))
    for key in ("torch_threads", "torch_interop_threads", "gpu", "cuda"):
        if key in info:
            print(f"{key}: {info[key]}")

    with tempfile.TemporaryDirectory(prefix="vit-b16-") as tmp:
        started = time.perf_counter()
        folder = build_vit_b16(Path(tmp))
        encoder = ImageEncoder(str(folder), device=args.device, dtype=dtype)
        parameters = sum(p.numel() for p in encoder.model.parameters())
        print(
            f"model: random ViT-B/16 (224 px, hidden {encoder.dim}, 12 layers, "
            f"{parameters / 1e6:.1f}M parameters), {args.dtype} on {args.device}; "
            f"built and loaded in {time.perf_counter() - started:.1f} s"
        )
        print(f"median of {args.repeat} runs after 1 warm-up, images/s")
        table = Columns(
            ("batch", ">6"), *((f"{m} img/s", ">16.1f") for m in args.modes), indent="", sep=""
        )
        print(table.header())
        rows = []
        for batch in args.batches:
            row = bench_batch(encoder, batch, args.modes, args.repeat)
            rows.append(row)
            print(table.row(batch, *(row[f"{m}_images_per_s"] for m in args.modes)), flush=True)
    if args.json:
        print(json.dumps({"machine": info, "dtype": args.dtype, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

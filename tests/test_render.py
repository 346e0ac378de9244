"""Sample renders with a tiny random diffusers pipeline built and saved by the tests."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from unfragile.indexing.errors import ModelUnavailable, RenderError
from unfragile.indexing.render import (
    MAX_PROMPT_CHARS,
    MAX_PROMPTS,
    Render,
    load_pipeline,
    read_prompts,
    render,
)


@pytest.fixture(scope="session")
def pipe(tiny_diffusion: Path):
    return load_pipeline(str(tiny_diffusion), device="cpu")


def pixels(item: Render) -> np.ndarray:
    return np.asarray(item.image)


# --- render -------------------------------------------------------------------------------------


def test_renders_each_prompt_as_rgb_png(pipe) -> None:
    renders = render(pipe, ["a cat", "the dog"], seed=7, steps=2)
    assert [r.prompt for r in renders] == ["a cat", "the dog"]
    for item in renders:
        assert item.seed == 7
        assert item.image.mode == "RGB" and item.image.size == (32, 32)
        assert item.sha256 == hashlib.sha256(item.png).hexdigest()
        decoded = Image.open(io.BytesIO(item.png))
        assert decoded.format == "PNG"
        assert np.array_equal(np.asarray(decoded.convert("RGB")), pixels(item))


def test_same_prompt_and_seed_give_identical_bytes(pipe) -> None:
    first = render(pipe, ["a cat"], seed=3, steps=2)[0]
    again = render(pipe, ["a cat"], seed=3, steps=2)[0]
    assert first.png == again.png and first.sha256 == again.sha256


def test_image_does_not_depend_on_the_other_prompts(pipe) -> None:
    alone = render(pipe, ["a cat"], seed=3, steps=2)[0]
    among = render(pipe, ["the dog", "a cat"], seed=3, steps=2)[1]
    assert among.png == alone.png


def test_different_prompts_or_seeds_give_different_images(pipe) -> None:
    cat, dog = render(pipe, ["a cat", "the dog"], seed=3, steps=2)
    assert cat.sha256 != dog.sha256 and not np.array_equal(pixels(cat), pixels(dog))
    other_seed = render(pipe, ["a cat"], seed=4, steps=2)[0]
    assert not np.array_equal(pixels(cat), pixels(other_seed))


def test_size_sets_the_side(pipe) -> None:
    assert render(pipe, ["a cat"], steps=1, size=16)[0].image.size == (16, 16)


def test_bad_arguments(pipe) -> None:
    assert render(pipe, []) == []
    with pytest.raises(RenderError, match="steps"):
        render(pipe, ["a cat"], steps=0)
    with pytest.raises(RenderError, match="multiple of 8"):
        render(pipe, ["a cat"], size=30)


# --- load_pipeline -----------------------------------------------------------------------------


def load_error(pipeline: str) -> str:
    with pytest.raises(ModelUnavailable) as caught:
        load_pipeline(pipeline, device="cpu")
    message = str(caught.value)
    assert "\n" not in message
    assert f"could not load diffusers pipeline {pipeline}" in message
    assert "save_pretrained" in message and "diffusers_pipeline" in message
    return message


def test_missing_pipeline_folder(tmp_path: Path) -> None:
    folder = tmp_path / "no-such-pipeline"
    assert f"no such folder '{folder}'" in load_error(str(folder))


def test_folder_without_model_index(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert "has no model_index.json" in load_error(str(tmp_path / "empty"))


def test_pipeline_without_safetensors_is_refused(tmp_path: Path, tiny_diffusion: Path) -> None:
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_diffusion, folder)
    unet = folder / "unet"
    (unet / "diffusion_pytorch_model.safetensors").rename(unet / "diffusion_pytorch_model.bin")
    load_error(str(folder))


def test_unreachable_hub_pipeline() -> None:
    # HF_HUB_OFFLINE=1 (tests/conftest.py) makes the hub unreachable at once.
    load_error("unfragile-tests/no-such-pipeline")


# --- read_prompts ------------------------------------------------------------------------------


def write(tmp_path: Path, data: str | bytes, name: str = "prompts.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def prompts_error(path: Path) -> str:
    with pytest.raises(RenderError) as caught:
        read_prompts(path)
    return str(caught.value)


def test_read_prompts_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff# sample prompts\r\n\r\n  a red bicycle  \r\n#x\r\nthe #1 cat\n")
    assert read_prompts(path) == ["a red bicycle", "the #1 cat"]


def test_read_prompts_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    assert prompts_error(path) == f"{path}:1: no prompts (the file is empty)"


def test_read_prompts_only_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "# one\n\n# two\n")
    assert prompts_error(path) == f"{path}:3: no prompts (only comments and blank lines)"


def test_read_prompts_over_long_prompt(tmp_path: Path) -> None:
    path = write(tmp_path, "fine\n# comment\n" + "x" * (MAX_PROMPT_CHARS + 1) + "\nfine too\n")
    message = prompts_error(path)
    assert message.startswith(f"{path}:3: prompt is 1,001 characters long")
    assert "1,000" in message


def test_read_prompts_accepts_exactly_the_limits(tmp_path: Path) -> None:
    lines = ["p" * MAX_PROMPT_CHARS] + [f"prompt {i}" for i in range(MAX_PROMPTS - 1)]
    assert len(read_prompts(write(tmp_path, "\n".join(lines)))) == MAX_PROMPTS


def test_read_prompts_too_many(tmp_path: Path) -> None:
    text = "# header\n" + "".join(f"prompt {i}\n" for i in range(MAX_PROMPTS + 5))
    path = write(tmp_path, text)
    assert prompts_error(path) == f"{path}:{MAX_PROMPTS + 2}: more than {MAX_PROMPTS} prompts"


def test_read_prompts_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "a cat\ncaf\xe9 latte\n".encode("latin-1"))
    message = prompts_error(path)
    assert message.startswith(f"{path}:2: not UTF-8")


def test_read_prompts_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.txt"
    assert prompts_error(path) == f"{path}: no such file"


def test_pipeline_that_takes_no_prompt_is_refused(tmp_path: Path) -> None:
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4, 8),
        norm_num_groups=2,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
    )
    folder = tmp_path / "unconditional"
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(folder)
    assert "DDPMPipeline is not a text-to-image pipeline" in load_error(str(folder))

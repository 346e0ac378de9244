"""Image loading guards and ViT embeddings, on a tiny random ViT built and saved by the tests."""

from __future__ import annotations

import hashlib
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unfragile.indexing.errors import ImageRejected, ModelUnavailable
from unfragile.indexing.images import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    ImageEncoder,
    LoadedImage,
    load_image,
)
from unfragile.indexing.text import ModelUnavailable as TextModelLoadError


@pytest.fixture(scope="session")
def encoder(tiny_vit: Path) -> ImageEncoder:
    return ImageEncoder(str(tiny_vit), device="cpu", batch_size=4)


def noise(size: tuple[int, int] = (48, 40), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def png_bytes(width: int, height: int, rows: int = 0) -> bytes:
    """A PNG written by hand: IHDR declaring width x height, then `rows` rows of black pixels.

    With rows == height the file is a valid image; its zeros compress about 1000:1, which is
    what makes a decompression bomb small on disk.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)  # filter byte + RGB
    idat = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def rejected(path: Path, **limits: int) -> str:
    with pytest.raises(ImageRejected) as caught:
        load_image(path, **limits)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    return message


# --- load_image: what it accepts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "pil_format", "expected"),
    [
        ("png", "PNG", "PNG"),
        ("jpg", "JPEG", "JPEG"),
        ("webp", "WEBP", "WEBP"),
        ("gif", "GIF", "GIF"),
        ("bmp", "BMP", "BMP"),
    ],
)
def test_load_image_reads_allowed_formats_as_rgb(
    tmp_path: Path, suffix: str, pil_format: str, expected: str
) -> None:
    path = tmp_path / f"picture.{suffix}"
    noise((40, 30)).save(path, format=pil_format)
    loaded = load_image(path)
    assert isinstance(loaded, LoadedImage)
    assert (loaded.format, loaded.width, loaded.height) == (expected, 40, 30)
    assert loaded.image.mode == "RGB" and loaded.image.size == (40, 30)
    assert loaded.path == str(path)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_image_takes_first_frame_of_animated_gif(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(path)
    assert loaded.image.getpixel((8, 8)) == (255, 0, 0)


def test_load_image_puts_transparency_on_white(tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(path)
    assert load_image(path).image.getpixel((5, 5)) == (255, 255, 255)


def test_same_bytes_same_id_and_same_pixels_other_bytes_other_id(tmp_path: Path) -> None:
    image = noise()
    image.save(tmp_path / "a.png", compress_level=9)
    shutil.copy(tmp_path / "a.png", tmp_path / "copy.png")
    image.save(tmp_path / "resaved.png", compress_level=1)
    a, copy, resaved = (load_image(tmp_path / n) for n in ("a.png", "copy.png", "resaved.png"))
    assert a.sha256 == copy.sha256
    assert a.sha256 != resaved.sha256
    assert np.array_equal(np.asarray(a.image), np.asarray(resaved.image))


# --- load_image: what it refuses ---------------------------------------------------------------


def test_refuses_file_over_max_bytes_from_its_size_alone(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    # Sparse: 8 GiB on paper, no blocks on disk. Reading it whole would take minutes and all the
    # memory; the refusal names the size, which only stat could have told it.
    with open(path, "wb") as file:
        file.truncate(8 * 1024**3)
    message = rejected(path)
    assert "8,589,934,592 bytes" in message and f"{MAX_IMAGE_BYTES:,}" in message


def test_refuses_over_a_smaller_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    noise().save(path)
    assert "bytes" in rejected(path, max_bytes=100)


def test_refuses_header_declaring_100000_by_100000(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(100_000, 100_000, rows=1))
    assert path.stat().st_size < 1000
    assert "pixels" in rejected(path)


def test_refuses_valid_decompression_bomb_before_decoding(tmp_path: Path) -> None:
    # A well-formed 7000x7000 PNG (49 MP, 147 MB of pixels) in well under 1 MB: under Pillow's
    # own limit, over ours. Being valid, only the header check can refuse it.
    path = tmp_path / "zeros.png"
    path.write_bytes(png_bytes(7000, 7000, rows=7000))
    assert path.stat().st_size < 1024 * 1024
    message = rejected(path)
    assert "7000x7000 = 49,000,000 pixels" in message and f"{MAX_IMAGE_PIXELS:,}" in message


def test_refuses_over_a_smaller_max_pixels(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    noise((20, 10)).save(path)
    assert "20x10 = 200 pixels; the limit is 100" in rejected(path, max_pixels=100)


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG"])
def test_refuses_truncated_file(tmp_path: Path, pil_format: str) -> None:
    whole = tmp_path / f"whole.{pil_format.lower()}"
    noise((256, 256)).save(whole, format=pil_format)
    cut = tmp_path / f"cut.{pil_format.lower()}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in rejected(cut)


def test_refuses_corrupt_png_chunk(tmp_path: Path) -> None:
    path = tmp_path / "flipped.png"
    noise().save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside IDAT: its CRC no longer matches
    path.write_bytes(bytes(data))
    assert "truncated or corrupt" in rejected(path)


def test_refuses_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not a picture\n")
    assert "not an image" in rejected(path)


@pytest.mark.parametrize(("suffix", "pil_format"), [("tiff", "TIFF"), ("ico", "ICO")])
def test_refuses_unsupported_format(tmp_path: Path, suffix: str, pil_format: str) -> None:
    path = tmp_path / f"picture.{suffix}"
    noise((32, 32)).save(path, format=pil_format)
    assert f"unsupported image format {pil_format}" in rejected(path)


def test_refuses_missing_empty_and_folder(tmp_path: Path) -> None:
    assert "no such file" in rejected(tmp_path / "absent.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty file" in rejected(tmp_path / "empty.png")
    (tmp_path / "folder.png").mkdir()
    assert "not a regular file" in rejected(tmp_path / "folder.png")


# --- ImageEncoder -------------------------------------------------------------------------------


def test_tiny_vit_loads_and_gives_unit_vectors(encoder: ImageEncoder, tiny_vit: Path) -> None:
    assert encoder.dim == 32 and encoder.name == str(tiny_vit)
    vectors = encoder.encode([noise(seed=s) for s in range(6)])  # two batches of 4 and 2
    assert vectors.shape == (6, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 32)


def test_same_image_encodes_identically_twice(encoder: ImageEncoder) -> None:
    images = [noise(seed=1), noise((100, 60), seed=2)]
    assert np.array_equal(encoder.encode(images), encoder.encode(images))


def test_result_does_not_depend_on_batching(tiny_vit: Path, encoder: ImageEncoder) -> None:
    images = [noise(seed=s) for s in range(5)]
    one_by_one = ImageEncoder(str(tiny_vit), device="cpu", batch_size=1).encode(images)
    np.testing.assert_allclose(encoder.encode(images), one_by_one, atol=1e-5)


def test_exact_duplicate_is_nearest(tmp_path: Path, encoder: ImageEncoder) -> None:
    noise(seed=3).save(tmp_path / "original.png")
    noise(seed=3).save(tmp_path / "duplicate.bmp", format="BMP")  # same pixels, other bytes
    noise(seed=4).save(tmp_path / "other.png")
    Image.new("RGB", (48, 40), (20, 140, 60)).save(tmp_path / "flat.png")
    loaded = [load_image(tmp_path / n) for n in ("original.png", "duplicate.bmp", "other.png")]
    loaded.append(load_image(tmp_path / "flat.png"))
    vectors = encoder.encode([item.image for item in loaded])
    cosines = vectors[1:] @ vectors[0]
    assert cosines[0] == pytest.approx(1.0, abs=1e-6)
    assert cosines[0] > max(cosines[1:])


def test_rgba_and_grey_images_are_accepted(encoder: ImageEncoder) -> None:
    images = [noise().convert("L"), noise().convert("RGBA")]
    assert encoder.encode(images).shape == (2, 32)


# --- ImageEncoder: models that cannot be loaded -------------------------------------------------


def load_error(model: str) -> str:
    with pytest.raises(ModelUnavailable) as caught:
        ImageEncoder(model, device="cpu")
    message = str(caught.value)
    assert "\n" not in message
    assert f"could not load image model {model}" in message
    assert "UNFRAGILE_IMAGE_MODEL" in message and "model.safetensors" in message
    return message


def test_model_load_error_is_the_text_modules(tmp_path: Path) -> None:
    assert ModelUnavailable is TextModelLoadError


def test_missing_model_folder(tmp_path: Path) -> None:
    folder = tmp_path / "no-such-vit"
    assert f"no such folder '{folder}'" in load_error(str(folder))


def test_folder_without_preprocessor_config(tmp_path: Path, tiny_vit: Path) -> None:
    folder = tmp_path / "vit"
    shutil.copytree(tiny_vit, folder)
    (folder / "preprocessor_config.json").unlink()
    assert "has no preprocessor_config.json" in load_error(str(folder))


def test_folder_with_only_pickle_weights_is_refused(tmp_path: Path, tiny_vit: Path) -> None:
    folder = tmp_path / "vit"
    shutil.copytree(tiny_vit, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    assert "only pickle weights (pytorch_model.bin)" in load_error(str(folder))


def test_damaged_weights(tmp_path: Path, tiny_vit: Path) -> None:
    folder = tmp_path / "vit"
    shutil.copytree(tiny_vit, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    load_error(str(folder))


def test_unreachable_hub_id() -> None:
    # HF_HUB_OFFLINE=1 (tests/conftest.py) makes the hub unreachable at once.
    load_error("unfragile-tests/no-such-vit")


def test_folder_that_is_not_an_image_model(tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    folder = tmp_path / "bert"
    config = BertConfig(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
    )
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    (folder / "preprocessor_config.json").write_text("{}")
    assert "BertModel is not an image encoder" in load_error(str(folder))

"""Image loading behind a guarded decoder, and ViT embeddings of images."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFile, ImageOps
from tqdm import tqdm

from unfragile.indexing.errors import ImageRejected, ModelUnavailable
from unfragile.indexing.text import default_device

if TYPE_CHECKING:
    import torch

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_IMAGE_MODEL",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "ImageEncoder",
    "LoadedImage",
    "load_image",
]

#: Files larger than this are refused before a byte is read (20 MiB).
MAX_IMAGE_BYTES = 20 * 1024 * 1024
#: Images whose header declares more pixels than this are refused before decoding: 40 MP
#: decodes to ~120 MB of RGB, room for most camera photos while a bomb cannot exhaust memory.
MAX_IMAGE_PIXELS = 40_000_000
#: Formats decoded; GIF and animated WEBP contribute their first frame. MPO is how Pillow
#: names the JPEG files phone cameras write (a JPEG with extra preview images appended).
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP"})

DEFAULT_IMAGE_MODEL = "google/vit-base-patch16-224"
IMAGE_MODEL_HINT = (
    "Set UNFRAGILE_IMAGE_MODEL to a local folder with config.json, model.safetensors "
    "and preprocessor_config.json (or a hub id when the hub is reachable)."
)


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image and the facts an `Image` node records about it."""

    path: str
    sha256: str  # of the file's bytes: the Image node id
    width: int
    height: int
    format: str  # PNG, JPEG, WEBP, GIF or BMP
    image: Image.Image  # RGB, EXIF orientation applied


def load_image(
    path: Path | str, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> LoadedImage:
    """Read, check and decode one image file into RGB.

    Refuses, with `ImageRejected("<path>: <what is wrong>")`: a missing or non-regular file, an
    empty file, a file over `max_bytes` (decided from `stat`, before reading), a file that is not
    an image, an image format outside `ALLOWED_FORMATS`, a header declaring more than
    `max_pixels` pixels (decided before decoding, so decompression bombs allocate nothing),
    and a truncated or corrupt file. Pillow's own bomb guard (`Image.MAX_IMAGE_PIXELS`) still
    applies on top of `max_pixels`.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Another library flipping this global would let half-decoded images into the index.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; refusing to decode images")
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError as error:
        raise ImageRejected(f"{name}: no such file") from error
    except OSError as error:
        raise ImageRejected(f"{name}: cannot read: {error.strerror or error}") from error
    if not stat.S_ISREG(info.st_mode):
        raise ImageRejected(f"{name}: not a regular file")
    if info.st_size == 0:
        raise ImageRejected(f"{name}: empty file")
    if info.st_size > max_bytes:
        raise ImageRejected(
            f"{name}: file is {info.st_size:,} bytes; the limit is {max_bytes:,} bytes"
        )
    try:
        with open(path, "rb") as file:
            # Bounded read: the file may have grown since stat.
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise ImageRejected(f"{name}: cannot read: {error.strerror or error}") from error
    if len(data) > max_bytes:
        raise ImageRejected(f"{name}: file is over the limit of {max_bytes:,} bytes")

    image_format, width, height = _check_header(name, data, max_pixels)
    image = _decode(name, data)
    # Phone photos store rotation in EXIF; embed what a person sees, not the sensor's layout.
    image = ImageOps.exif_transpose(image)
    image = _to_rgb(image)
    return LoadedImage(
        path=name,
        sha256=hashlib.sha256(data).hexdigest(),
        width=image.width,
        height=image.height,
        format="JPEG" if image_format == "MPO" else image_format,
        image=image,
    )


def _check_header(name: str, data: bytes, max_pixels: int) -> tuple[str, int, int]:
    """Identify the format and size from the header alone (Image.open decodes no pixels)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format or "unknown"
            width, height = image.size
    except Image.DecompressionBombError as error:
        raise ImageRejected(
            f"{name}: declares too many pixels; the limit is {max_pixels:,} ({one_line(error)})"
        ) from error
    except Image.UnidentifiedImageError as error:
        raise ImageRejected(f"{name}: not an image file (or an unrecognised format)") from error
    except Exception as error:  # any parser failure on untrusted bytes
        raise ImageRejected(
            f"{name}: truncated or corrupt image header: {one_line(error)}"
        ) from error
    if image_format not in ALLOWED_FORMATS:
        allowed = ", ".join(sorted(ALLOWED_FORMATS - {"MPO"}))
        raise ImageRejected(f"{name}: unsupported image format {image_format}; allowed: {allowed}")
    if width <= 0 or height <= 0:
        raise ImageRejected(f"{name}: declares an empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageRejected(
            f"{name}: declares {width}x{height} = {width * height:,} pixels; "
            f"the limit is {max_pixels:,}"
        )
    return image_format, width, height


def _decode(name: str, data: bytes) -> Image.Image:
    """Verify the file's structure, then decode it fully; corrupt or cut files are refused."""
    try:
        # verify() checks chunk CRCs and structure (PNG) without decoding; it leaves the image
        # unusable, hence the second open. load() then fails on data cut short, because
        # LOAD_TRUNCATED_IMAGES is False.
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageRejected(f"{name}: decodes to too many pixels ({one_line(error)})") from error
    except Exception as error:  # any decoder failure on untrusted bytes
        raise ImageRejected(f"{name}: truncated or corrupt image: {one_line(error)}") from error
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        # Transparent logos and icons go onto white, the way a page shows them; a plain
        # convert("RGB") would put them on black and make unrelated logos look alike.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def one_line(error: BaseException) -> str:
    """The first line of an exception's message, short enough for a one-line error."""
    lines = str(error).strip().splitlines()
    return (lines[0].rstrip(".") if lines else type(error).__name__)[:300]


# A hub id is "name" or "namespace/name"; anything else that is not an existing folder is a
# path the user meant as a local copy.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def local_folder(name: str) -> Path | None:
    """The local folder `name` refers to, or None when `name` is to be read as a hub id.

    Returns the path even when it does not exist, if `name` can only be a path (absolute,
    starting with `.` or `~`, or with more than one `/`), so that the caller can say so.
    """
    path = Path(name).expanduser()
    if path.exists() or not _HUB_ID.match(name):
        return path
    return None


def _check_local_model(folder: Path) -> str | None:
    """What is missing from a local model folder, or None when it has what loading needs."""
    if not folder.exists():
        return f"no such folder {str(folder)!r}"
    if not folder.is_dir():
        return f"{str(folder)!r} is not a folder"
    if not (folder / "config.json").is_file():
        return f"{str(folder)!r} has no config.json"
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.safetensors.index.json")):
        pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt")]
        if pickled:
            # Pickle can run code on load; only safetensors weights are accepted.
            return f"{str(folder)!r} has only pickle weights ({', '.join(sorted(pickled))})"
        return f"{str(folder)!r} has no model.safetensors"
    if not (folder / "preprocessor_config.json").is_file():
        return f"{str(folder)!r} has no preprocessor_config.json"
    return None


@contextlib.contextmanager
def quiet_loading_bars() -> Iterator[None]:
    """Hide transformers' and diffusers' loading bars while stderr is not a terminal."""
    # Both libraries draw bars through a process-wide switch; flip it for the load only and
    # put it back, so a piped run stays quiet without changing anything for the caller.
    from transformers.utils import logging as transformers_logging

    modules = [transformers_logging]
    if "diffusers" in sys.modules:  # only when already in use: importing it takes seconds
        from diffusers.utils import logging as diffusers_logging

        modules.append(diffusers_logging)
    switches = [module for module in modules if module.is_progress_bar_enabled()]
    if not sys.stderr.isatty():
        for module in switches:
            module.disable_progress_bar()
    try:
        yield
    finally:
        for module in switches:
            module.enable_progress_bar()


class ImageEncoder:
    """A ViT (or any transformers image backbone): images in, L2-normalised CLS vectors out.

    `model` is a hub id or a local folder (default `DEFAULT_IMAGE_MODEL`). Weights load only
    from safetensors. On CUDA the model runs in float16 unless `dtype` says otherwise; the
    vectors returned are always float32. Any failure to load raises `ModelUnavailable` with one
    line naming the model and how to point at a local copy.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        device: str | None = None,
        batch_size: int = 32,
        dtype: torch.dtype | None = None,
    ) -> None:
        # Imported here so that `import indexing.images` (load_image alone) stays cheap.
        import torch

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.name: str = str(model) if model is not None else DEFAULT_IMAGE_MODEL
        self.device: str = device or default_device()
        self.dtype: torch.dtype = dtype or (
            torch.float16 if self.device.startswith("cuda") else torch.float32
        )
        self.batch_size = batch_size
        self.processor, self.model = self._load()
        self.dim: int = int(self.model.config.hidden_size)

    def _fail(self, what: str) -> ModelUnavailable:
        return ModelUnavailable(
            f"could not load image model {self.name}: {what}. {IMAGE_MODEL_HINT}"
        )

    def _load(self):
        from transformers import AutoConfig, AutoImageProcessor, AutoModel

        folder = local_folder(self.name)
        source = self.name
        if folder is not None:
            problem = _check_local_model(folder)
            if problem:
                raise self._fail(problem)
            source = str(folder)
        try:
            with quiet_loading_bars():
                config = AutoConfig.from_pretrained(source)
                extra = {}
                if config.model_type == "vit":
                    # The CLS token comes from last_hidden_state; the pooler is unused (and
                    # absent from classification checkpoints, which would log a warning).
                    extra["add_pooling_layer"] = False
                model = AutoModel.from_pretrained(
                    source, config=config, use_safetensors=True, dtype=self.dtype, **extra
                )
                # Checked before the processor, whose own error for a text model is obscure.
                if getattr(model, "main_input_name", None) != "pixel_values" or not hasattr(
                    model.config, "hidden_size"
                ):
                    raise self._fail(f"{type(model).__name__} is not an image encoder")
                processor = AutoImageProcessor.from_pretrained(source)
        except ModelUnavailable:
            raise
        except Exception as error:  # network, files, config: all one message
            raise self._fail(one_line(error)) from error
        try:
            model.to(self.device)
        except Exception as error:  # e.g. a CUDA device that is not there
            raise self._fail(f"cannot move it to {self.device}: {one_line(error)}") from error
        model.eval()
        return processor, model

    def encode(self, images: list[Image.Image], show_progress: bool = False) -> np.ndarray:
        """Return an (n, dim) float32 array of unit-length CLS embeddings, in input order."""
        import torch

        out = np.zeros((len(images), self.dim), dtype=np.float32)
        bar = tqdm(
            total=len(images),
            desc="embedding images",
            unit="image",
            file=sys.stderr,
            leave=False,
            disable=not (show_progress and sys.stderr.isatty()),
        )
        with bar, torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = [
                    img if img.mode == "RGB" else _to_rgb(img)
                    for img in images[start : start + self.batch_size]
                ]
                pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"]
                pixels = pixels.to(self.device, dtype=self.dtype)
                hidden = self.model(pixel_values=pixels).last_hidden_state
                # Normalise in float32: fp16 sums of squares lose precision on 768 dimensions.
                cls = torch.nn.functional.normalize(hidden[:, 0].float(), dim=-1)
                out[start : start + len(batch)] = cls.cpu().numpy()
                bar.update(len(batch))
        return out

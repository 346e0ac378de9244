"""The indexing layer's errors: one root, one class per failure; front ends map them to answers.

Importing this module loads no model, FAISS or torch, so a front end can name these classes
cheaply. Each class keeps the built-in base it had before (RuntimeError, ValueError).
"""

from __future__ import annotations


class IndexingError(Exception):
    """Root of every error the indexing layer raises on purpose."""


class ModelUnavailable(IndexingError, RuntimeError):
    """A model could not be loaded; the message names it and says how to use a local copy."""


class IndexMustBeRebuilt(IndexingError, RuntimeError):
    """An index on disk cannot be used as it is; the message says how to fix it."""


class IndexMismatch(IndexMustBeRebuilt):
    """The index was built with another model, dimension, kind or file format."""


class IndexDamaged(IndexMustBeRebuilt):
    """The index files are unreadable, truncated or disagree with each other."""


class ImageRejected(IndexingError, ValueError):
    """A file that is not an image this engine will decode; the message names file and reason."""


class RenderError(IndexingError, RuntimeError):
    """A prompts file or a render that cannot be used; the message names file:line or prompt."""

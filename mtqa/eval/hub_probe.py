"""Is a model reference a Hugging Face Hub id, and is that repository a sentence-transformers model?"""

from __future__ import annotations

import logging
import os

from mtqa.errors import one_line

logger = logging.getLogger(__name__)


def looks_like_hub_id(ref: str) -> bool:
    """``name`` or ``owner/name``, not a path (no leading ``.``, ``/``, ``~``) and not an existing file."""
    parts = ref.split("/")
    return (not ref.startswith((".", "/", "~")) and 1 <= len(parts) <= 2 and all(parts)
            and not os.path.exists(ref))


def hub_has_modules_json(ref: str) -> bool:
    """Whether Hub repository ``ref`` has a ``modules.json`` (fetched into the Hugging Face cache).

    False when it has none, and also when the Hub cannot be reached and the file is not
    cached: the caller then tries a plain ``transformers`` model, whose loading error names the
    real problem.
    """
    try:
        from huggingface_hub import hf_hub_download

        hf_hub_download(ref, "modules.json")
        return True
    except Exception as e:  # not a sentence-transformers repository, or the Hub is unreachable
        logger.debug("%s: no modules.json from the Hub (%s)", ref, one_line(e))
        return False

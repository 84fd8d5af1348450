"""What a round's files are called and hold: names, formats, limits.

Shared by the modules of the round; nothing here reads images or trains.
"""

import json
import numbers
from pathlib import Path

__all__ = []

#: the format of ``round.json`` (and of the round's fingerprints)
ROUND_FORMAT = 1
#: written into round.json and model.json: what wrote them
WRITER = "sk_eglpp.select_for_annotation"
#: how a round crops its samples (``crop`` of load_coco_keypoints)
CROPS = ("image", "bbox")
#: the margin around a person box with ``crop="bbox"`` (load_coco_keypoints')
BOX_MARGIN = 0.2
#: everything a round writes into its ``output_dir``
OUTPUTS = ("round.json", "selection.csv", "selection.json", "contact_sheet.png",
           "model", "lock")
#: the largest ``image_size`` (network input side) a round accepts
MAX_IMAGE_SIZE = 1024


def read_object(file, what):
    """A JSON object read from ``file``; a one-line ValueError when it is not."""
    try:
        data = json.loads(Path(file).read_text("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{str(file)!r} is not valid JSON ({exc}); it is not "
                         f"{what}.") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{str(file)!r} holds a JSON {type(data).__name__}, not "
                         f"{what}.")
    return data


def check_image_size(value, name):
    """``value`` as an int when it is a multiple of 8 in [8, MAX_IMAGE_SIZE]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} "
                        f"({type(value).__name__}).")
    if not 8 <= value <= MAX_IMAGE_SIZE or value % 8:
        raise ValueError(f"{name} must be a multiple of 8 in [8, {MAX_IMAGE_SIZE}], "
                         f"got {value!r} ({type(value).__name__}).")
    return int(value)


def json_text(record):
    """``record`` as the JSON text of a round's file (sorted keys, no NaN)."""
    return json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"

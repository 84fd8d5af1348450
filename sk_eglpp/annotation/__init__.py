"""One round of real active learning: which images should be annotated next?

:func:`select_for_annotation` is the job behind ``sk-eglpp select``: from a
folder of images and COCO keypoints annotations of some of them, it trains a
:class:`~sk_eglpp.models.HourglassRegressor` on the annotated images (or goes
on training the previous round's model), scores the unannotated ones with a
query strategy (EGL++ by default) and writes what an annotation team needs:
the ranked list, a COCO file of the selected images to import into an
annotation tool, a contact sheet and the model for the next round.

The round runs on the user's own folders, so it follows the rules of
:mod:`sk_eglpp._files`: it writes only its named outputs (``round.json``,
``selection.csv``, ``selection.json``, ``contact_sheet.png``, ``model/``,
``lock``) into ``output_dir``, refuses to start when one of them is,
contains or lies inside an input, replaces a file or the ``model/`` folder
only when it can tell by content that an earlier round wrote it, and takes
the folder's lock for the whole round.

The package's rooms: the images folder and its annotations
(``_images_folder``), the previous round (``_previous``), the output folder
(``_round_folder``) and its model (``_model``), the strategy (``_strategy``),
the selection and its files (``_selection``), the round itself
(``_round``), and the names and formats they share (``_formats``).
"""

from ._round import select_for_annotation
from ._selection import AnnotationSelection

__all__ = ["AnnotationSelection", "select_for_annotation"]

"""
==========================================================
Which images to annotate next: two rounds of ``select``
==========================================================

The real job of active learning: a folder of images, COCO keypoints
annotations for some of them, and the question *which images should the
annotators do next?* :func:`~sk_eglpp.select_for_annotation` (the Python side
of ``sk-eglpp select``) trains a stacked-hourglass regressor on the annotated
images, scores the others with EGL++ and writes the ranked selection, a COCO
file to import into an annotation tool, a contact sheet and the model for
the next round.

Here the folder is the embedded synthetic data, written as PNG files with
:func:`~sk_eglpp.datasets.make_synthetic_coco`, and the "annotator" is its
ground truth. The images and the network are tiny so that the example runs
in well under a minute on a CPU.
"""

# %%
# A folder of images and a COCO file of the annotated ones
# --------------------------------------------------------
# ``annotations.json`` annotates 40 of the 240 images; ``ground_truth.json``
# holds the keypoints of the other 200, which a real project would not have.

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.image import imread

from sk_eglpp import EGLPlusPlusQuery, select_for_annotation
from sk_eglpp.datasets import make_synthetic_coco, merge_coco_keypoints

work = Path(tempfile.mkdtemp())
files = make_synthetic_coco(
    work / "demo", n_images=240, n_annotated=40, image_size=32, random_state=0
)
print(sorted(p.name for p in files["images"].iterdir())[:3], "...")

# %%
# Round 1
# -------
# The model is trained on the 40 annotated images, then EGL++ ranks the 200
# others. With so few labels the perplexity of the neighbour probabilities
# is set below the default 20 (see the user guide, "Small labelled sets").

strategy = EGLPlusPlusQuery(n_neighbors=20, perplexity=8.0)
round1 = select_for_annotation(
    files["images"],
    files["annotations"],
    budget=16,
    strategy=strategy,
    image_size=32,
    as_gray=True,
    max_epochs=15,
    pre_annotate=True,
    output_dir=work / "round-1",
    verbose=0,
)
print(round1)

# %%
# The contact sheet shows the selected images, most informative first, with
# the skeleton the current model predicts and the utility (the expected
# gradient length, Eq. 7) under the file name. A model trained on 40 tiny
# images for a few seconds is rough; what an annotator sees here is what the
# next round will correct.

sheet = imread(round1.files["contact_sheet"])
fig, ax = plt.subplots(figsize=(10, 10 * sheet.shape[0] / sheet.shape[1]))
ax.imshow(sheet)
ax.set_axis_off()
fig.tight_layout()

# %%
# "Annotating" the selection and round 2
# --------------------------------------
# ``selection.json`` lists the selected images (here with the predicted
# keypoints as pre-annotations). An annotation tool would return their
# keypoints as a COCO export; the ground truth plays that part. Round 2 reads
# both annotation files and goes on training round 1's model.

batch = merge_coco_keypoints(
    files["ground_truth"], work / "batch-1.json", images=round1.files["coco"]
)
round2 = select_for_annotation(
    files["images"],
    [files["annotations"], batch],
    budget=16,
    strategy=strategy,
    previous=work / "round-1",
    max_epochs=6,
    output_dir=work / "round-2",
    verbose=0,
)
print(round2)
print("selected in both rounds:", set(round1.file_name) & set(round2.file_name))

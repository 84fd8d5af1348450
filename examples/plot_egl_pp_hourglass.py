"""
==============================================================
EGL++ with modAL and a stacked hourglass on synthetic poses
==============================================================

The paper's setting in miniature: a stacked-hourglass keypoint regressor
(:class:`~sk_eglpp.models.HourglassRegressor`) trained on a few labelled
images of articulated figures, modAL's active-learning loop, and EGL++
(:class:`~sk_eglpp.query.EGLPlusPlusQuery`, Algorithm 1) choosing which pool
images to annotate next.

For every pool image EGL++ finds its most probable labelled neighbours in the
network's embedding space (Eq. 8) and averages the squared gradient length of
the loss obtained by pretending each neighbour's keypoints were the image's
label (Eq. 7). The figure shows, like the paper's Fig. 3, the pool images with
the highest and the lowest expected gradient length next to their most
probable labelled neighbours.

The network, images and training are tiny so that the example runs in well
under a minute on a CPU; the accuracy is far from a real pose estimator's.
"""

# %%
# Synthetic pose data
# -------------------
# :func:`~sk_eglpp.datasets.make_pose_dataset` renders stick figures with the
# 14 joints of the LSP data set, grouped into video-like sequences, with
# background clutter. ``y`` holds the keypoints in pixel coordinates,
# ``(x0, y0, x1, y1, ...)``. The generator can also hide joints behind
# occluders or push them out of the image (NaN keypoints); to keep the figure
# easy to read, every joint is visible here.

import matplotlib.pyplot as plt
import numpy as np

from sk_eglpp import ActiveLearner, EGLPlusPlusQuery, HourglassRegressor
from sk_eglpp.datasets import make_pose_dataset

X, y = make_pose_dataset(
    n_samples=360, image_size=32, occlusion=0.0, truncation=0.0, random_state=0
)
X_labelled, y_labelled = X[:80], y[:80]
X_pool, y_pool = X[80:300], y[80:300]  # y_pool plays the annotator
X_test, y_test = X[300:], y[300:]
print("images:", X.shape, " keypoints:", y.shape)

# %%
# The learner
# -----------
# A one-stack hourglass with 16 feature channels. With ``warm_start=True``
# every ``teach`` continues training the current network (``max_epochs`` more
# epochs on the whole labelled set) instead of starting over, as in the
# paper's protocol where each cycle starts from the previous model. A few
# synthetic figures have a joint outside the image even without truncation,
# marked NaN in ``y``: ``force_all_finite=False`` lets the learner accept them
# (the regressor and EGL++ leave such joints out of the loss). EGL++ uses 8
# neighbours and a perplexity of 5, scaled down from the
# paper's 30 and 20 for an 80-image labelled set.

net = HourglassRegressor(
    module__n_stacks=1,
    module__n_features=16,
    module__depth=2,
    max_epochs=20,
    warm_start=True,
    lr=2e-3,
    random_state=0,
)
strategy = EGLPlusPlusQuery(n_neighbors=8, perplexity=5.0)
learner = ActiveLearner(
    net,
    query_strategy=strategy,
    X_training=X_labelled,
    y_training=y_labelled,
    force_all_finite=False,
)
print(f"PCK@0.2 on the test images: {learner.score(X_test, y_test):.3f}")

# %%
# One query
# ---------
# ``learner.query`` calls the strategy once and returns the indices of the
# selected pool images and the images. The strategy keeps what it computed:
# ``scores_`` (the expected gradient length of every pool image),
# ``neighbors_`` and ``probabilities_`` (the top-K labelled neighbours and
# their probabilities of Eq. 8).

idx, X_query = learner.query(X_pool, n_instances=16)
scores = strategy.scores_
print("selected pool images:", idx)
print(f"expected gradient length: min {scores.min():.3g}, max {scores.max():.3g}")

# %%
# Queried images and their neighbours (the paper's Fig. 3)
# --------------------------------------------------------
# Each row: a pool image with the model's predicted keypoints, then its four
# most probable labelled neighbours with their annotated keypoints and
# probability ``q``. High expected gradient length means the neighbours'
# poses disagree with each other or with the prediction; low means the
# model already has close, consistent labelled examples.

# LSP joints: 0-2 right leg, 3-5 left leg, 6-8 right arm, 9-11 left arm,
# 12 neck, 13 head top
LIMBS = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (9, 10),
         (10, 11), (8, 12), (9, 12), (12, 13), (2, 8), (3, 9)]


def draw_pose(ax, image, keypoints, color):
    ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    points = keypoints.reshape(-1, 2)
    for a, b in LIMBS:
        if np.all(np.isfinite(points[[a, b]])):
            ax.plot(*points[[a, b]].T, color=color, lw=1.2)
    ax.scatter(*points.T, s=6, color=color)
    ax.set_xticks([])
    ax.set_yticks([])


order = np.argsort(scores)
rows = [("highest", order[-1]), ("highest", order[-2]),
        ("lowest", order[1]), ("lowest", order[0])]
n_show = 4
predictions = learner.predict(X_pool[[i for _, i in rows]])

fig, axes = plt.subplots(len(rows), n_show + 1, figsize=(8, 6.8))
for r, (kind, i) in enumerate(rows):
    draw_pose(axes[r, 0], X_pool[i], predictions[r], "tab:red")
    axes[r, 0].set_title(f"{kind} EGL\n{scores[i]:.3g}", fontsize=9)
    for c in range(n_show):
        j = strategy.neighbors_[i, c]
        draw_pose(axes[r, c + 1], X_labelled[j], y_labelled[j], "tab:cyan")
        axes[r, c + 1].set_title(
            f"q = {strategy.probabilities_[i, c]:.2f}", fontsize=9
        )
fig.suptitle("Pool image (prediction, red) and its most probable labelled "
             "neighbours (labels, cyan)", fontsize=10)
fig.tight_layout()
plt.show()

# %%
# Teach and continue
# ------------------
# The annotator labels the queried images; ``teach`` adds them to the
# labelled set and trains on it (here: 20 more epochs). The loop then repeats
# with the remaining pool.

learner.teach(X_pool[idx], y_pool[idx])
X_pool, y_pool = np.delete(X_pool, idx, axis=0), np.delete(y_pool, idx, axis=0)
print(f"labelled images: {len(learner.X_training)}, pool: {len(X_pool)}")
print(f"PCK@0.2 on the test images: {learner.score(X_test, y_test):.3f}")

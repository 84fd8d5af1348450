"""
===========================================
Neighbour probabilities of EGL++ (Eq. 8)
===========================================

EGL++ replaces the unknown label of an unlabelled sample by the labels of its
labelled neighbours in the model's embedding space, weighted by the
conditional probabilities of stochastic neighbour embedding (paper Eq. 8):

.. math::
   q(h_j \\mid h_i) = \\frac{\\exp(-\\lVert h_i - h_j \\rVert^2 / 2\\sigma_i^2)}
   {\\sum_{k} \\exp(-\\lVert h_i - h_k \\rVert^2 / 2\\sigma_i^2)},

with rows ``i`` from the pool, columns ``j`` from the labelled set, and a
bandwidth :math:`\\sigma_i` per pool sample chosen so that row ``i`` has the
requested perplexity. This example draws a 2-D "embedding" of a pool and a
labelled set and shows, for two pool points, their top-K labelled neighbours
with marker areas proportional to :math:`q`.
"""

# %%
# A 2-D embedding
# ---------------
# Real embeddings come from the model (``HourglassRegressor.embed``); a 2-D
# toy set makes the neighbourhoods visible. The labelled set is dense on the
# left and sparse on the right.

import matplotlib.pyplot as plt
import numpy as np

from sk_eglpp.neighbors import conditional_probabilities, top_k_neighbors

rng = np.random.default_rng(0)
H_labelled = np.vstack(
    [
        rng.normal(loc=(-2.0, 0.0), scale=0.6, size=(60, 2)),
        rng.normal(loc=(2.5, 0.0), scale=1.5, size=(15, 2)),
    ]
)
H_pool = rng.uniform(low=(-4.0, -3.0), high=(6.0, 3.0), size=(120, 2))
# two pool points of interest: one in the dense region, one in the sparse one
H_pool[0] = (-2.0, 0.3)
H_pool[1] = (3.0, 0.5)

# %%
# The probabilities and their perplexity
# --------------------------------------
# Every row of the matrix is a distribution over the labelled set whose
# Shannon perplexity, ``2 ** entropy`` with the entropy in bits, equals the
# requested value (the definition scikit-learn's TSNE uses).

perplexity = 10.0
P = conditional_probabilities(H_pool, H_labelled, perplexity=perplexity)
print("shape:", P.shape, " row sums:", np.round(P.sum(axis=1)[:3], 6))

with np.errstate(divide="ignore", invalid="ignore"):
    entropy_bits = -np.sum(np.where(P > 0, P * np.log2(P), 0.0), axis=1)
print("perplexity of the first rows:", np.round(2.0**entropy_bits[:4], 3))

# %%
# Top-K neighbours
# ----------------
# EGL++ keeps the ``n_neighbors`` most probable labelled samples of each pool
# sample. By default their probabilities are the Eq. 8 values over the whole
# labelled set (``renormalize=False``), so they sum to the mass the K
# neighbours hold; ``renormalize=True`` rescales them to sum to one.

n_neighbors = 8
idx, q = top_k_neighbors(H_pool, H_labelled, n_neighbors, perplexity=perplexity)
_, q_renorm = top_k_neighbors(
    H_pool, H_labelled, n_neighbors, perplexity=perplexity, renormalize=True
)
for i in (0, 1):
    print(
        f"pool point {i}: top-{n_neighbors} mass {q[i].sum():.3f}, "
        f"largest q {q[i, 0]:.3f} (renormalised {q_renorm[i, 0]:.3f})"
    )

# %%
# The picture
# -----------
# In the dense region the bandwidth is small and the probability mass sits on
# a few close neighbours; in the sparse region the bandwidth grows until the
# row reaches the same perplexity, so farther labelled points count too.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True)
for ax, i in zip(axes, (0, 1), strict=True):
    ax.scatter(*H_pool.T, s=8, c="0.75", label="pool")
    ax.scatter(*H_labelled.T, s=14, c="tab:blue", alpha=0.5, label="labelled")
    neighbours = H_labelled[idx[i]]
    ax.scatter(
        *neighbours.T,
        s=2000 * q[i],
        facecolors="none",
        edgecolors="tab:red",
        linewidths=1.5,
        label=f"top-{n_neighbors}, area ~ q",
    )
    for h in neighbours:
        ax.plot(*np.c_[H_pool[i], h], c="tab:red", lw=0.6, alpha=0.6)
    ax.scatter(*H_pool[i], marker="*", s=250, c="k", label=f"pool point {i}")
    ax.set_title(
        f"pool point {i}: top-{n_neighbors} mass {q[i].sum():.2f}", fontsize=11
    )
    ax.set_xlabel("$h_1$")
axes[0].set_ylabel("$h_2$")
axes[0].legend(loc="lower left", fontsize=8)
fig.suptitle(f"Conditional neighbour probabilities (Eq. 8), perplexity {perplexity}")
fig.tight_layout()
plt.show()

# %%
# Effect of the perplexity
# ------------------------
# A larger perplexity spreads each row over more labelled samples: the
# largest probability falls and the top-K hold less of the mass. The paper's
# reference code defines perplexity with the entropy in nats, so its value of
# 20 corresponds to a standard perplexity of about ``exp(log2(20)) = 75``.

perplexities = np.array([2.0, 5.0, 10.0, 20.0, 40.0])
top1 = []
mass = []
for perp in perplexities:
    _, qq = top_k_neighbors(H_pool, H_labelled, n_neighbors, perplexity=perp)
    top1.append(qq[:, 0].mean())
    mass.append(qq.sum(axis=1).mean())

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(perplexities, top1, "o-", label="largest q (mean over pool)")
ax.plot(perplexities, mass, "s-", label=f"top-{n_neighbors} mass (mean over pool)")
ax.set_xscale("log")
ax.set_xlabel("perplexity")
ax.set_ylim(0, 1.05)
ax.legend()
fig.tight_layout()
plt.show()

"""Task context (metadata) as a success signal: each ``key=value`` column's encoded success rate.

A repository, team or language says how hard its tasks tend to be for every model alike, so the encoding
pools all models' outcomes: a task's residual is its mean over the models tried on it of (outcome − that
model's base rate), and a value's code is the sum of its tasks' residuals over (their count + ``SHRINK``),
i.e. the residual mean shrunk toward 0 (the global rate) for values seen on few tasks. One-hot columns per
value with an L2 penalty per model (the first design) learned each value from one model's few outcomes and
did not generalise to held-out tasks on SWE-bench (median AUC 0.50 with the repository); the pooled code,
with one slope per model and key fitted on out-of-fold codes, gives 0.56 there (``benchmarks.quality_sets``).
A second, per-model code beside the pooled one added noise there (ECE 0.06), so there is none.

At serving time the code is the weight of the value's one-hot column (times the model's slope), so the
metadata block stays one sparse row and the prediction one matrix product.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from training.data.outcomes import TaskMatrix

SHRINK = 10.0  # pseudo-tasks at the global rate added to every value: a value on 10 tasks counts half


def task_residuals(data: TaskMatrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per task of ``rows``: the weighted mean over its tried models of (outcome − that model's base rate
    on ``rows``), and whether any model was tried on it (its residual is 0 where not)."""
    observed = data.observed[rows]
    weight = np.where(observed, data.weight[rows], 0.0)
    success = np.where(observed, data.success[rows], 0.0)
    totals = weight.sum(axis=0)
    base = np.divide((success * weight).sum(axis=0), totals, out=np.zeros(len(totals)), where=totals > 0)
    per_task = weight.sum(axis=1)
    resid = ((success - base) * weight).sum(axis=1)
    return np.divide(resid, per_task, out=np.zeros(len(rows)), where=per_task > 0), (per_task > 0) * 1.0


def encode(block: csr_matrix, residuals: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each column's code: the residual sum of its tasks with an outcome over (their count + ``SHRINK``)."""
    counts = np.asarray(block.T @ present).ravel()
    sums = np.asarray(block.T @ residuals).ravel()
    return sums / (counts + SHRINK)


def out_of_fold_scores(
    block: csr_matrix,
    data: TaskMatrix,
    fold_of: np.ndarray,
    key_of: np.ndarray,
    n_keys: int,
) -> np.ndarray:
    """Per task and key: the code of the task's value, from an encoding fitted without the task's fold
    (0 where the task has no known value for the key). Shape (tasks, keys)."""
    scores = np.zeros((block.shape[0], n_keys))
    folds = np.unique(fold_of)
    for k in folds if len(folds) > 1 else ():
        train = np.flatnonzero(fold_of != k)
        test = np.flatnonzero(fold_of == k)
        codes = encode(block[train], *task_residuals(data, train))
        scores[test] = key_sums(block[test], codes, key_of, n_keys)
    return scores


def key_sums(block: csr_matrix, codes: np.ndarray, key_of: np.ndarray, n_keys: int) -> np.ndarray:
    """Per task and key, the sum of the codes of the task's columns of that key. Shape (tasks, keys)."""
    out = np.zeros((block.shape[0], n_keys))
    for k in range(n_keys):
        columns = np.flatnonzero(key_of == k)
        out[:, k] = np.asarray(block[:, columns] @ codes[columns]).ravel()
    return out

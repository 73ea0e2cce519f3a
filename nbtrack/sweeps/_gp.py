"""A small Gaussian process over the unit cube, and the expected improvement it predicts.

NumPy only: a Matérn 5/2 kernel with one length scale, a noise term, and the pair chosen
by the marginal likelihood over a fixed grid (a few hundred Cholesky factorizations of at
most `MAX_POINTS` points; no optimizer, so no SciPy). It minimizes: a maximized metric is
given negated.

>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(size=(6, 1)); y = (X[:, 0] - 0.3) ** 2
>>> x = suggest(X, y, np.empty((0, 1)), rng)   # the next point to try, in [0, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

MAX_POINTS = 100  # observations beyond this are subsampled (the fit is cubic in them)
CANDIDATES = 2000
_LENGTHS = np.geomspace(0.03, 3.0, 14)
_NOISES = (1e-6, 1e-4, 1e-2, 0.1)
_JITTER = 1e-9


def _matern52(a: FloatArray, b: FloatArray, length: float) -> FloatArray:
    d = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0)) / length
    s5 = np.sqrt(5.0) * d
    out: FloatArray = (1.0 + s5 + 5.0 / 3.0 * d * d) * np.exp(-s5)
    return out


class GP:
    """The posterior of a zero-mean GP (on standardized y) given points X and values y."""

    def __init__(self, X: FloatArray, y: FloatArray, length: float, noise: float) -> None:
        self.X, self.length, self.noise = X, length, noise
        K = _matern52(X, X, length) + (noise + _JITTER) * np.eye(len(X))
        self.L = np.linalg.cholesky(K)
        self.alpha = np.linalg.solve(self.L.T, np.linalg.solve(self.L, y))
        # log p(y | X): the fit's evidence, what picks the length scale and noise.
        self.evidence = float(
            -0.5 * y @ self.alpha - np.log(np.diag(self.L)).sum() - 0.5 * len(X) * np.log(2 * np.pi)
        )

    def predict(self, Xs: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Mean and standard deviation at each row of Xs."""
        k = _matern52(Xs, self.X, self.length)
        mean: FloatArray = k @ self.alpha
        v = np.linalg.solve(self.L, k.T)
        var = np.maximum(1.0 - (v * v).sum(0), 1e-12)
        return mean, np.sqrt(var)


def fit(X: FloatArray, y: FloatArray) -> GP:
    """The GP whose length scale and noise explain (X, y) best, of the grid's."""
    best: GP | None = None
    for length in _LENGTHS:
        for noise in _NOISES:
            try:
                gp = GP(X, y, float(length), noise)
            except np.linalg.LinAlgError:
                continue
            if best is None or gp.evidence > best.evidence:
                best = gp
    if best is None:  # pragma: no cover - the largest noise always factorizes
        raise RuntimeError("nbtrack: the sweep's Gaussian process could not be fitted")
    return best


def expected_improvement(mean: FloatArray, std: FloatArray, best: float) -> FloatArray:
    """E[max(best - f, 0)] for f ~ N(mean, std²): the gain a minimizer expects at a point."""
    z = (best - mean) / std
    ei: FloatArray = (best - mean) * _norm_cdf(z) + std * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return ei


def suggest(
    X: FloatArray, y: FloatArray, pending: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """The point of [0, 1]^d with the highest expected improvement over min(y).

    `pending` are points being tried now (by this sweep's other agents): each counts as
    observed at the value the model predicts there (the "kriging believer"), so that two
    agents do not both go to the same promising place.
    """
    if len(X) > MAX_POINTS:
        keep = rng.choice(len(X), MAX_POINTS, replace=False)
        X, y = X[keep], y[keep]
    mu, sd = float(y.mean()), float(y.std()) + 1e-6
    ys = (y - mu) / sd
    gp = fit(X, ys)
    if len(pending):
        believed, _ = gp.predict(pending)
        gp = GP(np.vstack([X, pending]), np.concatenate([ys, believed]), gp.length, gp.noise)
    d = X.shape[1]
    # Candidates: uniform over the cube, and as many near the best points so far (where a
    # smooth metric's optimum most likely lies), clipped to the cube.
    uniform = rng.uniform(size=(CANDIDATES, d))
    order = np.argsort(ys)[: min(5, len(ys))]
    near = X[rng.choice(order, CANDIDATES)] + rng.normal(scale=0.05, size=(CANDIDATES, d))
    cand = np.vstack([uniform, np.clip(near, 0.0, 1.0)])
    mean, std = gp.predict(cand)
    ei = expected_improvement(mean, std, float(ys.min()))
    out: FloatArray = cand[int(np.argmax(ei))]
    return out


def _norm_cdf(z: FloatArray) -> FloatArray:
    """Φ(z) through erfc (Abramowitz & Stegun 7.1.26, error below 1.5e-7): NumPy has no erf."""
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erfc = poly * np.exp(-x * x)
    out: FloatArray = np.where(z >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc)
    return out

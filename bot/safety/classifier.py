"""A small statistical classifier that catches what the patterns do not.

Character n-grams (2 to 5, within words) of the cleaned message, hashed, so
no vocabulary is stored; one logistic regression per signal. Trained only on
`tests/data/safety/train/` by `frontdoor safety train`, which writes the
weights (sparse) and each signal's threshold to `bot/safety/model.npz`. The
threshold is the lowest score that keeps false alarms on ordinary training
messages under `MAX_FALSE_ALARMS` in cross-validation. Nothing is fetched
from anywhere: the model is built from the repository and checked in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from bot.safety.corpus import Labelled
from bot.safety.patterns import SIGNALS
from bot.safety.tokens import clean, squeeze

MODEL_PATH = Path(__file__).with_name("model.npz")
N_FEATURES = 2**20
MAX_FALSE_ALARMS = 0.015  # share of ordinary training messages a threshold may flag
FOLDS = 5


def vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        n_features=N_FEATURES,
        alternate_sign=False,
        norm="l2",
        lowercase=False,
    )


def prepare(text: str) -> str:
    """The form the classifier reads: cleaned words, stretched letters squeezed."""
    return squeeze(clean(text))


@dataclass
class Model:
    signals: tuple[str, ...]
    weights: sparse.csc_matrix  # N_FEATURES x signals
    intercepts: np.ndarray
    thresholds: np.ndarray
    fingerprint: str

    def __post_init__(self) -> None:
        # One dense row per hashed feature (N_FEATURES x signals, float32, 16 MB):
        # a message's score is then a gather and a small product, not a sparse
        # matrix product, which took milliseconds.
        self._dense = np.asarray(self.weights.todense(), dtype=np.float32)

    def scores(self, text: str) -> dict[str, float]:
        columns, values = features(text)
        raw = values @ self._dense[columns] + self.intercepts
        probabilities = 1.0 / (1.0 + np.exp(-raw))
        return dict(zip(self.signals, probabilities.tolist(), strict=True))

    def raised(self, text: str, scores: dict[str, float] | None = None) -> set[str]:
        scores = self.scores(text) if scores is None else scores
        return {
            s for s, t in zip(self.signals, self.thresholds.tolist(), strict=True) if scores[s] >= t
        }

    def save(self, path: Path = MODEL_PATH) -> None:
        coo = self.weights.tocoo()
        np.savez_compressed(
            path,
            signals=np.array(self.signals),
            rows=coo.row.astype(np.int32),
            cols=coo.col.astype(np.int8),
            values=coo.data.astype(np.float32),
            intercepts=self.intercepts.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            fingerprint=np.array(self.fingerprint),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        with np.load(path, allow_pickle=False) as data:
            signals = tuple(str(s) for s in data["signals"])
            weights = sparse.coo_matrix(
                (data["values"], (data["rows"], data["cols"].astype(np.int32))),
                shape=(N_FEATURES, len(signals)),
            ).tocsc()
            return cls(
                signals,
                weights,
                data["intercepts"].astype(np.float64),
                data["thresholds"].astype(np.float64),
                str(data["fingerprint"]),
            )


_VECTORIZER = vectorizer()
_ANALYZER = _VECTORIZER.build_analyzer()


def features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The hashed, L2-normalised character n-grams of one message, as (columns,
    values): what HashingVectorizer makes, without its per-call overhead
    (about 1 ms a message), so training and reading use this one function."""
    counts: dict[int, float] = {}
    for gram in _ANALYZER(prepare(text)):
        column = abs(murmurhash3_32(gram, seed=0)) % N_FEATURES
        counts[column] = counts.get(column, 0.0) + 1.0
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
    return columns, values / np.float32(np.sqrt(np.dot(values, values)))


def feature_matrix(texts: list[str]) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        columns, values = features(text)
        rows.extend([row] * len(columns))
        cols.extend(columns.tolist())
        vals.extend(values.tolist())
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), N_FEATURES))


def _fit(features: sparse.csr_matrix, target: np.ndarray):  # noqa: ANN202 - sklearn's own type
    from sklearn.linear_model import LogisticRegression

    # A tight tolerance: the solver runs to the optimum, not to wherever one CPU's
    # rounding stops it, so the model rebuilds the same on any machine.
    model = LogisticRegression(
        C=8.0, class_weight="balanced", solver="liblinear", max_iter=1000, tol=1e-8
    )
    return model.fit(features, target)


def _threshold(scores: np.ndarray, ordinary: np.ndarray) -> float:
    """The lowest threshold that flags at most MAX_FALSE_ALARMS of ordinary messages."""
    calm = np.sort(scores[ordinary])[::-1]
    allowed = int(np.floor(MAX_FALSE_ALARMS * len(calm)))
    if len(calm) == 0:
        return 0.5
    return float(max(0.5, calm[allowed] + 1e-6)) if allowed < len(calm) else 0.5


def train(messages: list[Labelled], fingerprint: str) -> Model:
    """Fit one regression per signal; thresholds from cross-validated scores."""
    hashed = feature_matrix([m.text for m in messages])
    # Fit only on the hashed columns the corpus uses (about 3% of them): the
    # same model, ten times faster; the weights go back to their columns after.
    used = np.unique(hashed.indices)
    features = hashed[:, used]
    ordinary = np.array([not m.labels for m in messages])
    folds = np.arange(len(messages)) % FOLDS
    columns, intercepts, thresholds = [], [], []
    for signal in SIGNALS:
        target = np.array([signal in m.labels for m in messages], dtype=int)
        held = np.zeros(len(messages))
        for fold in range(FOLDS):
            inside = folds != fold
            fitted = _fit(features[inside], target[inside])
            held[~inside] = fitted.predict_proba(features[~inside])[:, 1]
        thresholds.append(_threshold(held, ordinary))
        fitted = _fit(features, target)
        column = sparse.csc_matrix(
            (fitted.coef_[0], (used, np.zeros(len(used), dtype=int))), shape=(N_FEATURES, 1)
        )
        columns.append(column)
        intercepts.append(float(fitted.intercept_[0]))
    weights = sparse.hstack(columns).tocsc()
    weights.eliminate_zeros()
    return Model(SIGNALS, weights, np.array(intercepts), np.array(thresholds), fingerprint)

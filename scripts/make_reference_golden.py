"""Write tests/data/reference_golden.npz: disentanglement_lib's own metric functions on fixed codes.

Not part of the package or the tests; run it by hand where a checkout of disentanglement_lib and
gin-config, absl-py and six are importable (nothing here copies reference code; it calls it)::

    pip install --target /tmp/refdeps gin-config absl-py six
    git clone https://github.com/google-research/disentanglement_lib /tmp/dlib   # tested at 86a644d4
    python scripts/make_reference_golden.py tests/data/reference_golden.npz --deps /tmp/refdeps --dlib /tmp/dlib

The reference modules import ``gin.tf`` (TensorFlow), which they use only for ``@gin.configurable``:
a stub module stands in, and gin-config >= 0.5's renamed keywords (denylist / allowlist) are
translated. Observations are flat image indices of a complete factor grid, so every sample the
reference draws is recorded exactly (factors and indices, in order) next to the scores it returns.
tests/test_metrics_reference_golden.py feeds those samples to our metrics.
"""

import argparse
import json
import sys

import numpy as np

_ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_ap.add_argument("out", help="the .npz to write (tests/data/reference_golden.npz)")
_ap.add_argument("--deps", required=True, help="folder with gin-config, absl-py and six (pip install --target)")
_ap.add_argument(
    "--dlib", required=True, help="a disentanglement_lib checkout (the folder holding disentanglement_lib/)"
)
ARGS = _ap.parse_args()
sys.path.insert(0, ARGS.deps)
sys.path.insert(0, ARGS.dlib)
import gin  # noqa: E402
import reference_shims  # noqa: E402  (beside this script)

reference_shims.install()
from disentanglement_lib.evaluation.metrics import (  # noqa: E402
    beta_vae,
    dci,
    downstream_task,
    factor_vae,
    irs,
    mig,
    modularity_explicitness,
    sap_score,
    unsupervised_metrics,
)

gin.parse_config(
    "discretizer.discretizer_fn = @histogram_discretizer\ndiscretizer.num_bins = 20\n"
    "predictor.predictor_fn = @logistic_regression_cv"
)

SIZES = [3, 4, 5, 6]
N = int(np.prod(SIZES))
rs0 = np.random.RandomState(123)
f = np.stack(np.unravel_index(np.arange(N), SIZES), 1).astype(np.float64)
noise = rs0.normal(size=(N, 5))
codes = np.stack(
    [
        f[:, 0] + 1.2 * noise[:, 0],
        f[:, 1] + 0.5 * f[:, 2] + 1.5 * noise[:, 1],
        noise[:, 2],
        0.3 * f[:, 3] + 0.6 * noise[:, 3],
        f[:, 2] - f[:, 0] + 1.5 * noise[:, 4],
    ],
    1,
).astype(np.float32)


class Data:
    """dlib's GroundTruthData interface over a complete grid; observations are flat indices (n, 1)."""

    def __init__(self):
        self.log = []

    num_factors = len(SIZES)
    factors_num_values = SIZES
    observation_shape = [1]

    def sample_factors(self, num, rs):
        return np.stack([rs.randint(s, size=num) for s in SIZES], 1)

    def sample_observations_from_factors(self, factors, rs):
        idx = np.ravel_multi_index(factors.T, SIZES)
        self.log.append((factors.copy(), idx.copy()))
        return idx[:, None].astype(np.float64)

    def sample(self, num, rs):
        fa = self.sample_factors(num, rs)
        return fa, self.sample_observations_from_factors(fa, rs)

    def sample_observations(self, num, rs):
        return self.sample(num, rs)[1]


def rep(obs):
    return codes[obs[:, 0].astype(int)]


def cat(log):
    return np.concatenate([ln[0] for ln in log]), np.concatenate([ln[1] for ln in log])


def pairs_label(fa, fb):
    same = [k for k in range(len(SIZES)) if (fa[:, k] == fb[:, k]).all()]
    assert len(same) == 1, same
    return same[0]


def const_label(fa):
    same = [k for k in range(len(SIZES)) if (fa[:, k] == fa[0, k]).all()]
    assert len(same) == 1, same
    return same[0]


out, arrays = {}, {"codes": codes, "sizes": np.array(SIZES)}


def run(name, fn, **kw):
    d = Data()
    score = fn(d, rep, np.random.RandomState(7), **kw)
    out[name] = {k: float(v) for k, v in score.items() if np.ndim(v) == 0}
    return d.log


log = run("mig", mig.compute_mig, num_train=1000, batch_size=16)
arrays["mig_factors"], arrays["mig_idx"] = cat(log)
log = run("unsupervised", unsupervised_metrics.unsupervised_metrics, num_train=1000, batch_size=16)
arrays["unsupervised_factors"], arrays["unsupervised_idx"] = cat(log)
log = run("irs", irs.compute_irs, num_train=1000, batch_size=16)
arrays["irs_factors"], arrays["irs_idx"] = cat(log)
for name, fn in (
    ("sap", lambda *a, **k: sap_score.compute_sap(*a, continuous_factors=False, **k)),
    ("modularity_explicitness", modularity_explicitness.compute_modularity_explicitness),
):
    log = run(name, fn, num_train=800, num_test=400, batch_size=16)
    n_tr = sum(1 for _ in range(0, 800, 16))
    arrays[name + "_train_factors"], arrays[name + "_train_idx"] = cat(log[:n_tr])
    arrays[name + "_test_factors"], arrays[name + "_test_idx"] = cat(log[n_tr:])
    assert len(arrays[name + "_test_idx"]) == 400
np.random.seed(0)  # the reference's GradientBoostingClassifier() takes its tie-breaks from numpy's global state
log = run("dci", dci.compute_dci, num_train=800, num_test=400, batch_size=16)
arrays["dci_train_factors"], arrays["dci_train_idx"] = cat(log[:50])
arrays["dci_test_factors"], arrays["dci_test_idx"] = cat(log[50:])
assert len(arrays["dci_test_idx"]) == 400
log = run("beta_vae", beta_vae.compute_beta_vae_sklearn, batch_size=64, num_train=300, num_eval=200)
assert len(log) == 2 * 500
for part, sl in (("train", slice(0, 600)), ("eval", slice(600, 1000))):
    L = log[sl]
    arrays[f"beta_vae_{part}_a"] = np.stack([L[i][1] for i in range(0, len(L), 2)])
    arrays[f"beta_vae_{part}_b"] = np.stack([L[i + 1][1] for i in range(0, len(L), 2)])
    arrays[f"beta_vae_{part}_labels"] = np.array([pairs_label(L[i][0], L[i + 1][0]) for i in range(0, len(L), 2)])
log = run(
    "factor_vae", factor_vae.compute_factor_vae, batch_size=64, num_train=300, num_eval=200, num_variance_estimate=1000
)
arrays["factor_vae_var_idx"] = log[0][1]
for part, sl in (("train", slice(1, 301)), ("eval", slice(301, 501))):
    L = log[sl]
    arrays[f"factor_vae_{part}_idx"] = np.stack([ln[1] for ln in L])
    arrays[f"factor_vae_{part}_labels"] = np.array([const_label(ln[0]) for ln in L])
assert len(log) == 501
sizes = [10, 100, 500]
log = run("downstream_logreg", downstream_task.compute_downstream_task, num_train=sizes, num_test=200, batch_size=16)
pos = 0
for n in sizes:
    for part, m in (("train", n), ("test", 200)):
        k = -(-m // 16)
        arrays[f"downstream_{n}_{part}_factors"], arrays[f"downstream_{n}_{part}_idx"] = cat(log[pos : pos + k])
        assert len(arrays[f"downstream_{n}_{part}_idx"]) == m
        pos += k
assert pos == len(log)
import sklearn  # noqa: E402

arrays["reference_scores_json"] = np.array(json.dumps(out, sort_keys=True))
arrays["provenance"] = np.array(
    json.dumps(
        {
            "reference": "google-research/disentanglement_lib @ 86a644d4, evaluation/metrics/*.py run unmodified "
            "(gin.tf stubbed; histogram discretizer, 20 bins; logistic_regression_cv predictor)",
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "random_state": "numpy RandomState(7) per metric",
            "codes": "RandomState(123) noise, see tests/test_metrics_reference_golden.py",
        }
    )
)
arrays = {k: (v.astype(np.int16) if v.dtype.kind == "i" else v) for k, v in arrays.items()}
np.savez_compressed(ARGS.out, **arrays)
print(json.dumps(out, indent=1, sort_keys=True))

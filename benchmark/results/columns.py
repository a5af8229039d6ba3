"""evaluate()'s score keys -> results.csv columns, and the text of numbers in ids, labels and tables."""
from __future__ import annotations

# evaluate()'s flat keys -> results.csv columns
SCORE_KEYS = {
    "beta_vae.eval_accuracy": "beta_vae_reference",
    "beta_vae_paper.eval_accuracy": "beta_vae_paper",
    "beta_vae_paper.classifier_converged": "beta_vae_paper_converged",  # False: Adagrad stopped short
    "factor_vae.eval_accuracy": "factor_vae",
    "mig.discrete_mig": "mig",
    "dci.disentanglement": "dci_disentanglement",
    "dci.completeness": "dci_completeness",
    "dci.informativeness_test": "dci_informativeness",
    "dci_hist.disentanglement": "dci_hist_disentanglement",
    "dci_hist.completeness": "dci_hist_completeness",
    "dci_hist.informativeness_test": "dci_hist_informativeness",
    "sap.SAP_score": "sap",
    "modularity_explicitness.modularity_score": "modularity",
    "modularity_explicitness.explicitness_score_test": "explicitness",
    "unsupervised.gaussian_total_correlation": "gaussian_total_correlation",
    "unsupervised.gaussian_wasserstein_correlation_norm": "wasserstein_correlation",
    "unsupervised.mutual_info_score": "mutual_info_score",
    "irs.IRS": "irs",
    # downstream tasks: test accuracy with 100 and 10,000 training points (sample efficiency)
    "downstream_gbt.100:mean_test_accuracy": "downstream_gbt_100",
    "downstream_gbt.10000:mean_test_accuracy": "downstream_gbt_10000",
    "downstream_logreg.100:mean_test_accuracy": "downstream_logreg_100",
    "downstream_logreg.10000:mean_test_accuracy": "downstream_logreg_10000",
}
GENERATIVE_KEYS = {
    "reconstruction_nll_mean": "recon_bce",  # decode the mean: defined for the AE too
    "reconstruction_nll": "recon_bce_sampled",  # the ELBO's one-sample term
    "reconstruction_mse": "recon_mse",
    "elbo": "elbo",
    "kl": "kl",
    "active_units": "active_units",
    "active_units_variance": "active_units_variance",
    "iwae_log_likelihood": "iwae",
}


def fmt_value(v: float) -> str:
    """Compact number for ids and labels: 4.0 -> '4', 0.5 -> '0.5', 1e-05 -> '1e-05'."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def hyperparameter_text(params: dict) -> str:
    """Canonical text of a hyperparameter dict (``beta=4``), '' for none: a grouping key."""
    return ";".join(f"{k}={fmt_value(v)}" for k, v in sorted(params.items()))


SMOKE_TEST_NOTE = (
    "The {preset} preset trains each model for only {steps:,} steps: its reconstruction, KL and "
    "active-unit numbers show the rate-distortion trade-off, but its disentanglement scores are a "
    "SMOKE TEST, not evidence for or against the paper's claim. The paper preset (300,000 steps, "
    "--preset paper, on a GPU) is where that claim is tested."
)


def smoke_test_note(preset: str, steps: int) -> str:
    """The warning that a short preset's disentanglement scores are a smoke test (a result row says
    ``smoke_test = True`` for those)."""
    return SMOKE_TEST_NOTE.format(preset=preset, steps=int(steps))


# results.csv column -> the name figures and tables show (one mapping: raw identifiers never reach a reader)
COLUMN_LABELS = {
    "beta_vae_reference": "beta-VAE score (reference: sklearn logreg, 5 factors)",
    "beta_vae_paper": "beta-VAE score (paper: Adagrad linear, 4 factors)",
    "factor_vae": "FactorVAE score",
    "mig": "MIG (histogram estimator)",
    "dci_disentanglement": "DCI disentanglement",
    "dci_completeness": "DCI completeness",
    "dci_informativeness": "DCI informativeness",
    "dci_hist_disentanglement": "DCI disentanglement (histogram codes)",
    "dci_hist_completeness": "DCI completeness (histogram codes)",
    "dci_hist_informativeness": "DCI informativeness (histogram codes)",
    "sap": "SAP score",
    "modularity": "modularity score",
    "explicitness": "explicitness score",
    "gaussian_total_correlation": "Gaussian total correlation (nats)",
    "wasserstein_correlation": "Gaussian Wasserstein correlation (normalised)",
    "mutual_info_score": "mutual information between latents (nats)",
    "irs": "IRS (interventional robustness)",
    "downstream_gbt_100": "downstream task, GBT, 100 training points (test accuracy)",
    "downstream_gbt_10000": "downstream task, GBT, 10,000 training points (test accuracy)",
    "downstream_logreg_100": "downstream task, logistic regression CV, 100 training points (test accuracy)",
    "downstream_logreg_10000": "downstream task, logistic regression CV, 10,000 training points (test accuracy)",
    "recon_bce": "reconstruction error (Bernoulli NLL, nats/image)",
    "recon_mse": "reconstruction MSE (per image)",
    "elbo": "ELBO (nats/image)",
    "kl": "KL(q(z|x) || p(z)) (nats/image)",
    "active_units": "active latents (KL > 0.01 nats)",
    "recon_bce_sampled": "reconstruction error of a sampled z (the ELBO's term)",
    "active_units_variance": "active latents (variance of the mean > 0.01)",
    "iwae": "IWAE log-likelihood bound (nats/image)",
}
# Scores defined on [0, 1] (accuracies, normalised information, AUC-like): plotted on a fixed [0, 1] axis so
# that 0.018 vs 0.036 does not look like a trend. The rest (nats, counts, the Wasserstein ratio) are unbounded.
UNIT_INTERVAL_COLUMNS = frozenset({
    "beta_vae_reference", "beta_vae_paper", "factor_vae", "mig", "dci_disentanglement", "dci_completeness",
    "dci_informativeness", "dci_hist_disentanglement", "dci_hist_completeness", "dci_hist_informativeness", "sap",
    "modularity", "explicitness", "irs", "downstream_gbt_100", "downstream_gbt_10000", "downstream_logreg_100",
    "downstream_logreg_10000",
})
SAMPLED_SUFFIX = "_sampled"  # a score of the sampled code mu + sigma * eps (recipes with representations "sampled")


def column_label(column: str) -> str:
    """The display name of a results.csv column.

    Parameters
    ----------
    column : a results.csv column, e.g. ``dci_disentanglement`` or ``mig_sampled``.

    Returns
    -------
    Its proper name (``DCI disentanglement``, ``MIG (histogram estimator), sampled code``); a column no
    mapping knows gets its words back with spaces, never the bare identifier.
    """
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    if column.endswith(SAMPLED_SUFFIX) and column.removesuffix(SAMPLED_SUFFIX) in COLUMN_LABELS:
        return f"{COLUMN_LABELS[column.removesuffix(SAMPLED_SUFFIX)]}, sampled code"
    return column.replace("_", " ")


def in_unit_interval(column: str) -> bool:
    """Whether a column's values lie in [0, 1] by definition (a sampled-code score like its mean-code one)."""
    return column.removesuffix(SAMPLED_SUFFIX) in UNIT_INTERVAL_COLUMNS

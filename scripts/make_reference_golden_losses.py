"""Write tests/data/reference_golden_losses.npz: disentanglement_lib's own loss terms on fixed tensors.

Not part of the package or the tests; run it by hand in an environment with TensorFlow 2 (its
``compat.v1`` API), TensorFlow Probability, gin-config and six, beside a checkout of
disentanglement_lib (nothing here copies reference code; it calls it)::

    python -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.18.0 tensorflow-probability==0.25.0 tf-keras==2.18.0 gin-config six
    git clone https://github.com/google-research/disentanglement_lib /tmp/dlib   # tested at 86a644d4
    /tmp/tfvenv/bin/python scripts/make_reference_golden_losses.py \\
        tests/data/reference_golden_losses.npz --dlib /tmp/dlib

The reference modules import ``gin.tf``, ``tensorflow.contrib`` (TF1 only) and ``tensorflow_hub``,
which the loss code does not use: stub modules stand in, and gin-config >= 0.5's renamed keywords are translated. The
terms are evaluated in a TF1-style graph (the annealed capacity reads the global step).
It also runs five steps of TF1's ``AdamOptimizer`` (the reference's optimiser) on given gradients.
tests/test_models_reference_golden.py compares ours with them.
"""

import argparse
import json
import sys
import types

import numpy as np

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("out", help="the .npz to write (tests/data/reference_golden_losses.npz)")
ap.add_argument(
    "--dlib", required=True, help="a disentanglement_lib checkout (the folder holding disentanglement_lib/)"
)
args = ap.parse_args()
sys.path.insert(0, args.dlib)

import tensorflow.compat.v1 as tf  # noqa: E402

import reference_shims  # noqa: E402  (beside this script)

reference_shims.install()
sys.modules["tensorflow_hub"] = types.ModuleType("tensorflow_hub")  # model export only
contrib = types.ModuleType("tensorflow.contrib")
contrib.tpu = types.ModuleType("tensorflow.contrib.tpu")
sys.modules["tensorflow.contrib"] = contrib
tf.disable_eager_execution()

from disentanglement_lib.methods.shared import losses  # noqa: E402
from disentanglement_lib.methods.unsupervised import vae  # noqa: E402

rs = np.random.RandomState(2024)
B, D = 16, 10
x_binary = (rs.uniform(size=(B, 64, 64, 1)) < 0.3).astype(np.float32)
x_cont = rs.uniform(size=(B, 64, 64, 1)).astype(np.float32)
logits = rs.normal(scale=3.0, size=(B, 64, 64, 1)).astype(np.float32)
mu = rs.normal(size=(B, D)).astype(np.float32)
logvar = rs.normal(scale=0.7, size=(B, D)).astype(np.float32) - 1.0
z = (mu + np.exp(0.5 * logvar) * rs.normal(size=(B, D))).astype(np.float32)
steps = [0, 1, 5000, 50000, 100000, 250000]

out = {}
with tf.Graph().as_default():
    step_var = tf.train.get_or_create_global_step()
    t = {
        k: tf.constant(v)
        for k, v in dict(x_binary=x_binary, x_cont=x_cont, logits=logits, mu=mu, logvar=logvar, z=z).items()
    }
    kl = vae.compute_gaussian_kl(t["mu"], t["logvar"])
    ops = {
        "bernoulli_binary": tf.reduce_mean(losses.bernoulli_loss(t["x_binary"], t["logits"], "logits")),
        "bernoulli_continuous": tf.reduce_mean(losses.bernoulli_loss(t["x_cont"], t["logits"], "logits")),
        "l2_continuous": tf.reduce_mean(losses.l2_loss(t["x_cont"], t["logits"], "logits")),
        "kl": kl,
        "total_correlation": vae.total_correlation(t["z"], t["mu"], t["logvar"]),
        "beta_vae_beta4": vae.BetaVAE(beta=4.0).regularizer(kl, t["mu"], t["logvar"], t["z"]),
        "beta_tcvae_beta6": vae.BetaTCVAE(beta=6.0).regularizer(kl, t["mu"], t["logvar"], t["z"]),
        "dip_vae_i_od10": vae.DIPVAE(lambda_od=10.0, lambda_d_factor=10.0, dip_type="i").regularizer(
            kl, t["mu"], t["logvar"], t["z"]
        ),
        "dip_vae_ii_od5": vae.DIPVAE(lambda_od=5.0, lambda_d_factor=1.0, dip_type="ii").regularizer(
            kl, t["mu"], t["logvar"], t["z"]
        ),
    }
    annealed = vae.AnnealedVAE(gamma=1000.0, c_max=25.0, iteration_threshold=100000).regularizer(
        kl, t["mu"], t["logvar"], t["z"]
    )
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out.update({k: float(v) for k, v in sess.run(ops).items()})
        for s in steps:
            sess.run(step_var.assign(s))
            out[f"annealed_vae_c25_step{s}"] = float(sess.run(annealed))

# TF1's AdamOptimizer (the reference's optimiser, optimizers.py / shared.gin: lr 1e-4, betas 0.9 /
# 0.999, eps 1e-8; the FactorVAE discriminator's betas 0.5 / 0.9) on one 256-vector, five steps of given
# gradients of mixed sizes (many of them epsilon-sized, where TF1's and PyTorch's Adam differ)
adam_w0 = rs.normal(size=256).astype(np.float32)
adam_grads = (rs.normal(size=(5, 256)) * np.repeat([1e-8, 1e-6, 1e-3, 1.0], 64)).astype(np.float32)
adam_final = {}
for name, (b1, b2) in {"adam_vae": (0.9, 0.999), "adam_discriminator": (0.5, 0.9)}.items():
    with tf.Graph().as_default():
        w = tf.Variable(adam_w0)
        g = tf.placeholder(tf.float32, shape=[256])
        step = tf.train.AdamOptimizer(learning_rate=1e-4, beta1=b1, beta2=b2, epsilon=1e-8).apply_gradients([(g, w)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for grad in adam_grads:
                sess.run(step, feed_dict={g: grad})
            adam_final[name] = sess.run(w)

np.savez_compressed(
    args.out,
    adam_w0=adam_w0,
    adam_grads=adam_grads,
    **adam_final,
    x_binary=x_binary,
    x_cont=x_cont,
    logits=logits,
    mu=mu,
    logvar=logvar,
    z=z,
    steps=np.array(steps),
    reference_json=np.array(json.dumps(out, sort_keys=True)),
    provenance=np.array(
        json.dumps(
            {
                "reference": "google-research/disentanglement_lib @ 86a644d4, methods/shared/losses.py and "
                "methods/unsupervised/vae.py run unmodified (gin.tf, tensorflow.contrib stubbed)",
                "tensorflow": tf.__version__,
                "numpy": np.__version__,
            }
        )
    ),
)
print(json.dumps(out, indent=1, sort_keys=True))

"""Import shims for running disentanglement_lib's (TensorFlow 1 era) modules from the golden-value scripts.

``install()`` makes ``import gin.tf`` work without TensorFlow's gin integration (the reference only
uses ``@gin.configurable`` from it) and translates the ``blacklist`` / ``whitelist`` keywords that
gin-config 0.5 renamed to ``denylist`` / ``allowlist``.
"""

import sys
import types


def install() -> None:
    import gin

    gin.tf = types.ModuleType("gin.tf")
    sys.modules["gin.tf"] = gin.tf
    configurable = gin.configurable

    def compat(*a, blacklist=None, whitelist=None, **k):
        if blacklist is not None:
            k["denylist"] = blacklist
        if whitelist is not None:
            k["allowlist"] = whitelist
        return configurable(*a, **k)

    gin.configurable = compat

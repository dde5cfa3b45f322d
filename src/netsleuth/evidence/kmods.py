"""Which kernel modules are loaded: collection must not load one (sos's `SoSPredicate(kmods=...)`).
The check is the collector's (netsleuth.collector.kmods): it runs on production hosts too."""

from netsleuth.collector.kmods import KernelModules, kernel_modules

__all__ = ["KernelModules", "kernel_modules"]

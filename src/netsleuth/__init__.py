"""netsleuth: diagnose network faults on Linux cloud hosts."""

__version__ = "0.1.0"

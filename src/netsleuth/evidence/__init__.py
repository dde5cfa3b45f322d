"""Evidence: raw outputs of commands and files, with how they were obtained."""

from netsleuth.evidence.model import Bundle, Evidence, Status

__all__ = ["Bundle", "Evidence", "Status"]

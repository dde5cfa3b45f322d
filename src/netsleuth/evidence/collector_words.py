"""The collector's own error texts as wording: the collector (standard library only) writes plain
English; these are its fixed forms (and those of reading a sosreport's command outputs), read back
as Msg of the `reasons` entry so a report words them in its language. A text of no known form (a
command's own stderr) stays as it is.

>>> from netsleuth.messages import render_reason
>>> render_reason("zh", words_of("podman: not installed"))
'未安装 podman'
>>> render_reason("zh", words_of("readlink: exit status 1"))
'readlink：退出码 1'
>>> words_of("Cannot connect to the Docker daemon") is None
True
"""

from __future__ import annotations

import re

from netsleuth.messages import Msg

# (pattern of the collector's text, reasons key); named groups become params
FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"none of these files exists", "no_file_of"),
        (r"(?P<tool>\S+): not installed", "not_installed"),
        (r"(?P<path>\S+): no such file", "no_such_file"),
        (r"(?P<path>\S+): permission denied", "permission_denied"),
        (r"no answer within (?P<s>[\d.]+) s \(killed\)", "killed_after"),
        (r"table not read within (?P<s>[\d.]+) s", "table_not_read"),
        (r"(?P<tool>\S+): exit status (?P<rc>-?\d+)", "exit_status"),
        (r"exit status (?P<rc>-?\d+|None)", "exit_status_bare"),
        (r"timed out when sos ran it", "sos_timed_out"),
        (r"(?P<tool>\S+): not installed on the host", "not_installed_host"),
        (r"(?P<tool>\S+): not installed where sos ran it \((?P<said>.*)\)", "not_installed_sos"),
        (
            r"no /proc/net/nf_conntrack and no conntrack tool \(conntrack not loaded or not installed\)",
            "no_conntrack_table",
        ),
    )
)


def words_of(error: str) -> Msg | None:
    """The wording of one of the collector's fixed error texts, None for any other text."""
    for pattern, key in FORMS:
        m = pattern.fullmatch(error)
        if m:
            return Msg(key, m.groupdict())
    return None

"""Ansible action `netsleuth_collector`: copy the netsleuth collector (a stdlib-only zipapp) to the
host, run it there under a timeout, fetch what it wrote, and remove what was copied.

Only the connection plugin is used on the host (put, exec, fetch): no Ansible module runs there, so
a host needs nothing but a shell, coreutils `timeout` and the python3 the collector runs on (3.6 or
later), whatever Python the controller's ansible-core wants for its own modules.

Arguments:
  collector  local path of netsleuth-collect.pyz
  args       the collector's arguments; "{tmp}" is replaced by the remote temporary directory
  python     the host's interpreter (default python3)
  timeout    seconds the collector may run (it is killed after; result `timed_out`)
  fetch      a file the collector wrote in {tmp}, fetched to `dest` (a local path) when it exits 0
  dest       where the fetched file goes on the controller

Result: rc, stdout, stderr, timed_out, fetched (the local path), msg; failed when the collector
exits non-zero or times out.
"""

import os
import shlex

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

TIMED_OUT = (124, 137)  # coreutils timeout: timed out / killed after -k


def _last_words(res):
    """The collector's own last line (it says why in one line), not ssh's closing remarks."""
    lines = []
    for stream in ("stderr", "stdout"):
        lines += [ln.strip() for ln in (res.get(stream) or "").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not (ln.startswith("Shared connection to ") and ln.endswith(" closed."))]
    own = [ln for ln in lines if ln.startswith("netsleuth-collect:")]
    return (own or lines or ["no message"])[-1]


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("collector", "args", "python", "timeout", "fetch", "dest"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        opts = self._task.args
        collector = opts.get("collector")
        if not collector or not os.path.isfile(collector):
            raise AnsibleActionFail("netsleuth_collector: `collector` must name the collector file (.pyz)")
        timeout = int(opts.get("timeout") or 300)
        python = str(opts.get("python") or "python3")
        fetch, dest = opts.get("fetch"), opts.get("dest")
        tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()  # made by run() already
        try:
            remote = self._connection._shell.join_path(tmpdir, "netsleuth-collect.pyz")
            self._transfer_file(collector, remote)
            args = [str(a).replace("{tmp}", tmpdir) for a in (opts.get("args") or [])]
            argv = ["timeout", "-k", "5", str(timeout), *shlex.split(python), remote, *args]
            res = self._low_level_execute_command(" ".join(shlex.quote(a) for a in argv), sudoable=True)
            rc = res.get("rc")
            result.update(rc=rc, stdout=res.get("stdout", ""), stderr=res.get("stderr", ""), changed=False)
            if rc in TIMED_OUT:
                result.update(
                    failed=True,
                    timed_out=True,
                    msg=f"the collector did not finish within {timeout} s (killed)",
                )
                return result
            if rc != 0:
                result.update(failed=True, msg=f"the collector exited {rc}: {_last_words(res)}")
                return result
            if fetch and dest:
                src = self._connection._shell.join_path(tmpdir, fetch)
                if self._connection.become:  # written by the become user: let the login user read it
                    self._low_level_execute_command(f"chmod 0644 {shlex.quote(src)}", sudoable=True)
                os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
                self._connection.fetch_file(src, dest)
                os.chmod(dest, 0o600)  # addresses, process lists: private, like `netsleuth collect`'s
                result["fetched"] = dest
            result["msg"] = "ok"
            return result
        finally:
            self._remove_tmp_path(tmpdir, force=True)

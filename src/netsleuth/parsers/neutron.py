"""Platform facts the user passes with `diagnose --with FILE`: the Neutron agent list and the
database rows (SQL dump) or API JSON of floating IPs, fixed IPs and instances.

The kind of each file is told from its content (`detect_kind`), never from its name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class Agent:
    id: str
    agent_type: str  # "DHCP agent", "L3 agent", "Open vSwitch agent", "Metadata agent"
    host: str
    alive: bool
    admin_up: bool
    binary: str
    line: str  # the row as the file shows it

    @property
    def process(self) -> str:
        return self.binary or {
            "DHCP agent": "neutron-dhcp-agent",
            "L3 agent": "neutron-l3-agent",
            "Open vSwitch agent": "neutron-openvswitch-agent",
            "Metadata agent": "neutron-metadata-agent",
            "Linux bridge agent": "neutron-linuxbridge-agent",
        }.get(self.agent_type, "")


def _truthy(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    return s in ("true", "1", ":-)", "up", "yes", "alive")


def _pick(row: dict[str, Any], *names: str) -> Any:
    low = {k.lower().replace(" ", "_"): v for k, v in row.items()}
    for n in names:
        if n in low:
            return low[n]
    return None


def _agent(row: dict[str, Any], line: str) -> Agent:
    alive = _pick(row, "alive", "is_alive")
    if alive is None:
        raise ParseError("agent list: a row without `Alive`", line)
    state = _pick(row, "state", "admin_state_up")
    return Agent(
        id=str(_pick(row, "id") or ""),
        agent_type=str(_pick(row, "agent_type") or ""),
        host=str(_pick(row, "host") or ""),
        alive=_truthy(alive),
        admin_up=True if state is None else _truthy(state),
        binary=str(_pick(row, "binary") or ""),
        line=line,
    )


def parse_agent_list(text: str) -> list[Agent]:
    """Parse `openstack network agent list -f json` (also the table form and `neutron agent-list`).

    >>> [(a.agent_type, a.host, a.alive, a.process) for a in parse_agent_list(SAMPLE_AGENTS_JSON)]
    [('L3 agent', 'network1', False, 'neutron-l3-agent'), ('DHCP agent', 'network1', True, 'neutron-dhcp-agent')]
    >>> [(a.agent_type, a.alive) for a in parse_agent_list(SAMPLE_AGENTS_TABLE)]
    [('L3 agent', False), ('DHCP agent', True)]
    """
    s = text.strip()
    if s.startswith("["):
        try:
            rows = json.loads(s)
        except json.JSONDecodeError as exc:
            raise ParseError(f"agent list: not JSON ({exc.msg})", s[:80]) from None
        if not isinstance(rows, list):
            raise ParseError("agent list: JSON is not a list", s[:80])
        return [_agent(r, json.dumps(r, ensure_ascii=False)) for r in rows if isinstance(r, dict)]
    lines = [ln for ln in s.splitlines() if ln.startswith("|")]
    if not lines:
        raise ParseError("agent list: neither JSON nor a table", s[:80])
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) == len(header):
            out.append(_agent(dict(zip(header, cells, strict=True)), ln))
    return out


# --- SQL dumps (mysqldump of the nova / neutron databases) ------------------------------------------

_CREATE = re.compile(r"CREATE TABLE\s+`?(\w+)`?\s*\((.*?)\)\s*(?:ENGINE|;)", re.S | re.I)
_COLUMN = re.compile(r"^\s*`(\w+)`\s", re.M)
_INSERT = re.compile(r"INSERT INTO\s+`?(\w+)`?\s*(?:\(([^)]*)\))?\s*VALUES\s*", re.I)
_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|\\.|'')*)'|(NULL)|(-?\d+(?:\.\d+)?)|([(),;]))", re.I)


def _values(text: str, pos: int) -> tuple[list[list[Any]], int]:
    """The tuples of one INSERT ... VALUES (...),(...); starting at `pos`."""
    rows: list[list[Any]] = []
    cur: list[Any] | None = None
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError("SQL dump: value not understood", text[pos : pos + 60])
        pos = m.end()
        s, null, num, punct = m.groups()
        if punct == "(":
            cur = []
        elif punct == ")":
            if cur is None:
                raise ParseError("SQL dump: `)` without `(`", text[pos - 30 : pos])
            rows.append(cur)
            cur = None
        elif punct == ";":
            break
        elif punct == ",":
            continue
        elif cur is not None:
            if null:
                cur.append(None)
            elif num is not None:
                cur.append(num)
            else:
                cur.append(re.sub(r"\\(.)", r"\1", (s or "").replace("''", "'")))
    return rows, pos


def parse_sql_dump(text: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of every table of a mysqldump (column names from CREATE TABLE or the INSERT list).

    >>> t = parse_sql_dump(SAMPLE_SQL)
    >>> [(r["address"], r["fixed_ip_id"]) for r in t["floating_ips"]]
    [('203.0.113.30', '7'), ('203.0.113.31', None)]
    >>> t["instances"][0]["deleted"]
    '1'
    """
    columns = {m.group(1): _COLUMN.findall(m.group(2)) for m in _CREATE.finditer(text)}
    tables: dict[str, list[dict[str, Any]]] = {}
    pos = 0
    while m := _INSERT.search(text, pos):
        name = m.group(1)
        cols = [c.strip().strip("`") for c in m.group(2).split(",")] if m.group(2) else columns.get(name)
        rows, pos = _values(text, m.end())
        if not cols:
            raise ParseError(
                f"SQL dump: no column names for table {name} (dump without CREATE TABLE)", m.group(0)
            )
        for r in rows:
            if len(r) != len(cols):
                raise ParseError(
                    f"SQL dump: {name} row has {len(r)} values for {len(cols)} columns", str(r)[:80]
                )
            tables.setdefault(name, []).append(dict(zip(cols, r, strict=True)))
    if not tables:
        raise ParseError("SQL dump: no INSERT INTO ... VALUES", text.strip()[:80])
    return tables


# --- which kind of file is it? ---------------------------------------------------------------------


def detect_kind(text: str) -> str:
    """'agents', 'sql', 'floating_ips_json', 'servers_json', 'ports_json' or '' (not a platform file).

    >>> detect_kind(SAMPLE_AGENTS_JSON), detect_kind(SAMPLE_SQL), detect_kind("hello")
    ('agents', 'sql', '')
    """
    s = text.lstrip()
    if re.search(r"INSERT INTO\s+`?\w+`?", s[:200000], re.I):
        return "sql"
    if s.startswith(("[", "{")):
        try:
            data = json.loads(s)
        except json.JSONDecodeError:
            return ""
        if isinstance(data, dict):
            for key, kind in (
                ("floatingips", "floating_ips_json"),
                ("servers", "servers_json"),
                ("ports", "ports_json"),
                ("agents", "agents"),
            ):
                if isinstance(data.get(key), list):
                    return kind
            return ""
        rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
        keys = {k.lower().replace(" ", "_") for r in rows[:5] for k in r}
        if {"alive", "agent_type"} <= keys:
            return "agents"
        if "floating_ip_address" in keys:
            return "floating_ips_json"
        if {"id", "status"} <= keys and ("name" in keys or "networks" in keys):
            return "servers_json"
        if "device_id" in keys:
            return "ports_json"
        return ""
    if re.search(r"^\|.*\bAlive\b.*\|", s[:4000], re.M):
        return "agents"
    return ""


def json_rows(text: str, key: str) -> list[dict[str, Any]]:
    """Rows of an API answer (`{"floatingips": [...]}`) or of a CLI `-f json` list."""
    data = json.loads(text)
    rows = data.get(key, []) if isinstance(data, dict) else data
    return [r for r in rows if isinstance(r, dict)]


@dataclass
class PlatformRows:
    """Floating/fixed IP and instance rows gathered from every file the user passed."""

    floating_ips: list[dict[str, Any]] = field(default_factory=list)  # nova-network floating_ips
    fixed_ips: list[dict[str, Any]] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)
    neutron_fips: list[dict[str, Any]] = field(default_factory=list)  # neutron floatingips / API
    ports: list[dict[str, Any]] = field(default_factory=list)
    servers: list[dict[str, Any]] = field(default_factory=list)  # API server list
    sources: dict[str, str] = field(default_factory=dict)  # table -> file it came from


SAMPLE_AGENTS_JSON = """[
  {"ID": "0a6c2b1e-3c1f-4a77-9a59-6f5b1d9e2c10", "Agent Type": "L3 agent", "Host": "network1",
   "Availability Zone": "nova", "Alive": false, "State": true, "Binary": "neutron-l3-agent"},
  {"ID": "5c1d8e42-7b0a-4f2e-8d4c-2e9f3a6b7c01", "Agent Type": "DHCP agent", "Host": "network1",
   "Availability Zone": "nova", "Alive": true, "State": true, "Binary": "neutron-dhcp-agent"}
]"""

SAMPLE_AGENTS_TABLE = """\
+--------------------------------------+------------+----------+-------------------+-------+-------+--------------------+
| ID                                   | Agent Type | Host     | Availability Zone | Alive | State | Binary             |
+--------------------------------------+------------+----------+-------------------+-------+-------+--------------------+
| 0a6c2b1e-3c1f-4a77-9a59-6f5b1d9e2c10 | L3 agent   | network1 | nova              | XXX   | UP    | neutron-l3-agent   |
| 5c1d8e42-7b0a-4f2e-8d4c-2e9f3a6b7c01 | DHCP agent | network1 | nova              | :-)   | UP    | neutron-dhcp-agent |
+--------------------------------------+------------+----------+-------------------+-------+-------+--------------------+
"""

# the nova tables seed 002 walks through (floating_ips -> fixed_ips -> instances), as mysqldump writes them
SAMPLE_SQL = """\
CREATE TABLE `floating_ips` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `address` varchar(39) NOT NULL,
  `fixed_ip_id` int(11) DEFAULT NULL,
  `project_id` varchar(255) DEFAULT NULL,
  `host` varchar(255) DEFAULT NULL,
  `deleted` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
INSERT INTO `floating_ips` VALUES (1,'203.0.113.30',7,'demo','compute1',0),(2,'203.0.113.31',NULL,NULL,NULL,0);
CREATE TABLE `instances` (
  `uuid` varchar(36) NOT NULL,
  `hostname` varchar(255) DEFAULT NULL,
  `deleted` int(11) DEFAULT NULL
) ENGINE=InnoDB;
INSERT INTO `instances` VALUES ('d9c4c2a0-5b1e-4f5e-9f0a-1c2b3d4e5f60','web-01',1);
"""

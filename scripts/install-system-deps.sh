#!/usr/bin/env bash
# Install the system packages netsleuth and its test suite use, only those that are missing.
# Debian/Ubuntu (apt) and Fedora/RHEL/CentOS Stream/Rocky/Alma (dnf; yum takes the same names).
# Needs root; without root it lists what is missing and exits 0 so that a non-root user can still
# run what does not need those tools. `netsleuth doctor` says what each tool feeds.
#
#   NETSLEUTH_PKG_FAMILY=apt|dnf   use this family's package names (default: the package manager here)
#   NETSLEUTH_DEPS_DRY_RUN=1       print the install command instead of running it
set -euo pipefail

# command -> "Debian package|Fedora/RHEL package" (RHEL: ripgrep, mawk and dnsmasq's friends may
# need EPEL; what no repository offers is skipped, and doctor lists it as missing)
declare -A PKG=(
  [ip]="iproute2|iproute" [ss]="iproute2|iproute" [bridge]="iproute2|iproute" [ethtool]="ethtool|ethtool"
  [iptables]="iptables|iptables-nft" [iptables-save]="iptables|iptables-nft" [nft]="nftables|nftables"
  [conntrack]="conntrack|conntrack-tools" [ifconfig]="net-tools|net-tools"
  [ovs-vsctl]="openvswitch-switch|openvswitch" [ovs-ofctl]="openvswitch-switch|openvswitch"
  [ovs-appctl]="openvswitch-switch|openvswitch" [ovs-vswitchd]="openvswitch-switch|openvswitch"
  [ovsdb-server]="openvswitch-switch|openvswitch"
  [dnsmasq]="dnsmasq-base|dnsmasq" [tcpdump]="tcpdump|tcpdump" [ping]="iputils-ping|iputils"
  [arping]="iputils-arping|iputils" [dhclient]="isc-dhcp-client|dhcp-client" [sos]="sosreport|sos"
  [ps]="procps|procps-ng" [sysctl]="procps|procps-ng" [dmesg]="util-linux|util-linux"
  [unshare]="util-linux|util-linux" [find]="findutils|findutils" [timeout]="coreutils|coreutils"
  [stat]="coreutils|coreutils" [readlink]="coreutils|coreutils" [df]="coreutils|coreutils"
  [uname]="coreutils|coreutils" [bash]="bash|bash"
  [make]="make|make" [tshark]="tshark|wireshark-cli" [rg]="ripgrep|ripgrep" [mawk]="mawk|mawk"
  [xz]="xz-utils|xz" [dot]="graphviz|graphviz" [chromium]="chromium|chromium"
  [ssh]="openssh-client|openssh-clients" [ssh-keygen]="openssh-client|openssh-clients"
  [sshd]="openssh-server|openssh-server" [python3]="python3|python3"
  [prometheus]="prometheus|golang-github-prometheus"
  [prometheus-node-exporter]="prometheus-node-exporter|golang-github-prometheus-node-exporter"
)
# programs netsleuth reads from when they are there, but does not install: the container platform
# itself, and journalctl (the fallback when dmesg is restricted; it comes with systemd)
NOT_INSTALLED=(docker podman journalctl)

family=${NETSLEUTH_PKG_FAMILY:-}
if [[ -z $family ]]; then
  if command -v apt-get >/dev/null 2>&1; then
    family=apt
  elif command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; then
    family=dnf
  fi
fi

missing=()
for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd || -x /sbin/$cmd ]] || missing+=("$cmd")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ -z $family ]]; then
  echo "netsleuth: neither apt-get nor dnf here; install by hand the packages that give: ${missing[*]}" >&2
  exit 0
fi
field=$([[ $family == apt ]] && echo 1 || echo 2)
mapfile -t packages < <(for cmd in "${missing[@]}"; do cut -d'|' -f"$field" <<<"${PKG[$cmd]}"; done | sort -u)

if [[ ${NETSLEUTH_DEPS_DRY_RUN:-} == 1 ]]; then
  echo "$family install ${packages[*]}"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "netsleuth: not root, cannot install: ${packages[*]}" >&2
  exit 0
fi
echo "netsleuth: installing ${packages[*]}" >&2
if [[ $family == apt ]]; then
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
else
  dnf=$(command -v dnf || command -v yum)
  # skip what no enabled repository has (dnf5: --skip-unavailable; dnf4/yum: strict=0)
  "$dnf" install -y -q --skip-unavailable "${packages[@]}" 2>/dev/null ||
    "$dnf" install -y -q --setopt=strict=0 "${packages[@]}"
fi
# The tests and the cost benchmark start their own Prometheus and node_exporter (127.0.0.1,
# temporary configuration, stopped by pid); the distributions' packages also enable services that
# listen on every address: when this script has just installed them on a systemd host, those
# services are stopped and disabled.
if [[ -d /run/systemd/system ]]; then
  for cmd in prometheus prometheus-node-exporter; do
    if printf '%s\n' "${missing[@]}" | grep -qx "$cmd"; then
      systemctl disable --now "$cmd" >/dev/null 2>&1 || true
    fi
  done
fi

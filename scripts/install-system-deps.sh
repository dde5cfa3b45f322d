#!/usr/bin/env bash
# Install the system packages netsleuth and its test suite use, only those that are missing.
# Debian/Ubuntu (apt). Needs root; without root it lists what is missing and exits 0 so that
# a non-root user can still run what does not need those tools.
set -euo pipefail

# command -> Debian package
declare -A PKG=(
  [ip]=iproute2 [ethtool]=ethtool [iptables]=iptables [nft]=nftables [conntrack]=conntrack
  [ovs-vsctl]=openvswitch-switch [dnsmasq]=dnsmasq-base [tcpdump]=tcpdump [ping]=iputils-ping
  [arping]=iputils-arping [dhclient]=isc-dhcp-client [sos]=sosreport [ps]=procps [sysctl]=procps
  [make]=make [tshark]=tshark [rg]=ripgrep [mawk]=mawk [xz]=xz-utils [dot]=graphviz [chromium]=chromium
)
missing=()
for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd || -x /sbin/$cmd ]] || missing+=("${PKG[$cmd]}")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
  echo "netsleuth: not root, cannot install: ${missing[*]}" >&2
  exit 0
fi
echo "netsleuth: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

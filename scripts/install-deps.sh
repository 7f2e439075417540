#!/usr/bin/env bash
# Install what persona needs to build and test, from Debian 12 packages only.
# Idempotent: installs only what is missing, so a second run costs a second.
set -euo pipefail

packages=(
  g++ cmake make pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev librange-v3-dev catch2
  libssl-dev libfaiss-dev libsqlite3-dev curl python3 python3-requests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "persona: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/bin/bash
# Install what building and testing the plugin need, from Debian's packages
# only; does nothing when everything is there already.
set -euo pipefail

packages=(cmake gcc make pkg-config tshark wireshark-dev libwireshark-dev python3 python3-pytest xvfb wireshark-qt xdotool xclip imagemagick fonts-dejavu-core mmdebstrap tcpreplay iproute2)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

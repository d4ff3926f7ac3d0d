#!/bin/bash
# Make (or bring up to date) a Debian root file system for one Wireshark series,
# outside the clone, so that the matrix can build and test the module there.
#
#   tests/matrix/make-system.sh SUITE DIR
#
# SUITE: trixie (Wireshark 4.4) or sid (4.6).  An existing DIR is reused; only
# packages it lacks are installed.  Needs root and Debian's archive.
set -euo pipefail
suite=$1 dir=$2

# What the build, the suite (tcpreplay, iproute2: the live capture test), the .deb
# and the GUI check need inside.
packages=(tshark libwireshark-dev wireshark-dev cmake gcc make pkg-config binutils
          python3 python3-pytest git xvfb wireshark xdotool xclip imagemagick
          fonts-dejavu-core valgrind tcpreplay iproute2)

mirror() {
    # The mirror this machine's apt already uses (deb822 or one-line sources).
    local m
    m=$(grep -rhoE '^URIs:[[:space:]]*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{print $2}' | grep -m1 -E '/debian/?$' || true)
    [ -n "$m" ] || m=$(grep -hoE '^deb[[:space:]]+\S+/debian/?[[:space:]]' /etc/apt/sources.list 2>/dev/null \
        | awk '{print $2}' | head -1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}

if [ ! -x "$dir/usr/bin/apt-get" ]; then
    command -v mmdebstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap; }
    rm -rf "$dir.new"
    mkdir -p "$(dirname "$dir")"
    mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
        --include="$(IFS=,; echo "${packages[*]}")" \
        "$suite" "$dir.new" "$(mirror)"
    mv "$dir.new" "$dir"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    chroot "$dir" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    chroot "$dir" apt-get -o Acquire::Check-Valid-Until=false update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

#!/bin/bash
# Run a command inside one series' root file system, with the source tree
# mounted read-only at /src, in a private mount namespace (the mounts vanish
# with the command).  The system is the matrix's own: tests may install into it
# (EXCHANGE_DISPOSABLE_SYSTEM=1).
#
#   tests/matrix/enter.sh DIR COMMAND...
set -euo pipefail
dir=$1; shift
src=$(cd "$(dirname "$0")/../.." && pwd)
exec unshare --mount --propagation private -- /bin/bash -c '
    set -euo pipefail
    dir=$1 src=$2; shift 2
    mount -t proc proc "$dir/proc"
    mount --rbind /dev "$dir/dev"
    mount --rbind /sys "$dir/sys"
    mkdir -p "$dir/src"
    mount --bind "$src" "$dir/src"
    mount -o remount,bind,ro "$dir/src"
    [ -e "$dir/etc/resolv.conf" ] || cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        PYTHONDONTWRITEBYTECODE=1 CI="${CI:-}" EXCHANGE_DISPOSABLE_SYSTEM=1 "$@"
' enter "$dir" "$src" "$@"

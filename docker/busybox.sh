#!/bin/sh
# Lays out a static busybox under DIR for the image's `shell` variant: DIR/bin/busybox, a
# relative symlink DIR/bin/<applet> -> busybox for every applet it has (sh, cat, env, id, ...),
# and DIR/usr/bin/env for `#!/usr/bin/env` scripts. The Dockerfile's `busybox` stage runs it on
# Debian's busybox-static, and so does scripts/container-smoke.sh on the host's, so the smoke
# image holds the same files.
#
#   docker/busybox.sh DIR [BUSYBOX]     (BUSYBOX defaults to /bin/busybox)
#
# Why every applet and not just `sh`: GitLab Runner's job script and its FF_DISABLE_UMASK
# ownership step (`id -u`), and Jenkins' `docker.image(...).inside` (`cat` to keep the container
# up, `sh`, `touch`, `sleep`, `mv` for its `sh` steps) need the usual utilities; the links cost
# a few bytes each.
set -eu
dir=${1:?usage: busybox.sh DIR [BUSYBOX]}
bb=${2:-/bin/busybox}

[ -x "$bb" ] || { echo "busybox.sh: no busybox at $bb (install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would not run in a scratch image, which has no libc: refuse it.
# (`ldd` fails on a static executable; it is in every Debian, as libc-bin.)
if ldd "$bb" >/dev/null 2>&1; then
  echo "busybox.sh: $bb is dynamically linked; install busybox-static, not busybox" >&2
  exit 1
fi
mkdir -p "$dir/bin" "$dir/usr/bin"
cp "$bb" "$dir/bin/busybox"
chmod 0755 "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  case $applet in
    busybox | */*) continue ;;
  esac
  ln -sf busybox "$dir/bin/$applet"
done
ln -sf ../../bin/busybox "$dir/usr/bin/env"
[ -L "$dir/bin/sh" ] || { echo "busybox.sh: $bb has no sh applet" >&2; exit 1; }

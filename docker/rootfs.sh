#!/bin/sh
# Lays out the few files the static pr-status binary needs at run time under DIR: the CA
# bundle, /etc/passwd and /etc/group with the unprivileged user 10001, nsswitch.conf, and an
# empty /workspace. The Dockerfile's `rootfs` stage runs it, and so does
# scripts/container-smoke.sh on the host, so the smoke image holds the same files.
#
#   docker/rootfs.sh DIR [CA_BUNDLE]     (CA_BUNDLE defaults to the Debian bundle)
set -eu
dir=${1:?usage: rootfs.sh DIR [CA_BUNDLE]}
ca=${2:-/etc/ssl/certs/ca-certificates.crt}

[ -s "$ca" ] || { echo "rootfs.sh: no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }
mkdir -p "$dir/etc/ssl/certs" "$dir/workspace"
cp "$ca" "$dir/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$dir/etc/ssl/certs/ca-certificates.crt"
cat > "$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
pr-status:x:10001:10001:pr-status:/nonexistent:/sbin/nologin
PASSWD
cat > "$dir/etc/group" <<'GROUP'
root:x:0:
pr-status:x:10001:
GROUP
# No NSS modules exist in the image; name the built-in sources explicitly.
echo 'hosts: files dns' > "$dir/etc/nsswitch.conf"
chmod 0644 "$dir/etc/passwd" "$dir/etc/group" "$dir/etc/nsswitch.conf"

# GENERATED from Dockerfile by `scripts/dockerfile_stages.py action Dockerfile`; do not edit.
# The GitHub Action (action.yml) builds this file. It is the Dockerfile's default target without
# its USER line: GitHub runs Docker actions as root, and a non-root user could not write to the
# runner's workspace, GITHUB_OUTPUT or GITHUB_STEP_SUMMARY. The stages only the `shell` target
# uses are left out, so that no Docker builder spends time on them.
# scripts/check-packaging.sh fails when the two disagree.

# pr-status container image: one static binary, the CA bundle and a non-root user, nothing else.
#
#   docker build -t prstatus/pr-status:0.1.0 .
#   docker run --rm -v "$PWD:/workspace" -e BITBUCKET_WORKSPACE=... prstatus/pr-status:0.1.0
#
# Two images come out of this file. The default target (the last stage, what `docker build .`
# builds) has no shell at all. The `shell` target is the same image plus a static busybox
# (/bin/sh and the usual utilities), for CIs that run a script inside the job's image (GitLab
# CI's `image:`, Jenkins' `docker.image(...).inside`):
#
#   docker build --target shell -t prstatus/pr-status:0.1.0-shell .
#
# Both targets are FROM scratch, directly or through the `runtime` stage; keep their stages to
# COPY/USER/WORKDIR/ENV/ENTRYPOINT/LABEL lines. scripts/container-smoke.sh rebuilds each target
# locally from those lines, pointing every `COPY --from=` at local files, and action.Dockerfile
# is the default target with the `USER` line dropped (GitHub runs Docker actions as root) and
# without the stages only the `shell` target uses; scripts/dockerfile_stages.py generates both
# and checks that action.Dockerfile agrees.

# ---- build: the static binary ---------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# An explicit --target keeps build scripts and proc-macros dynamic while crt-static makes the
# binary itself static (glibc: the resolver's `files` and `dns` sources are built into libc).
ENV RUSTFLAGS="-C target-feature=+crt-static"

# Dependencies first, so that a change under src/ does not download or rebuild them: build the
# locked dependency graph against a stub crate, then drop the stub's own artifacts.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && cargo build --release --locked --target x86_64-unknown-linux-gnu \
    && rm -rf src target/x86_64-unknown-linux-gnu/release/.fingerprint/pr-status-* \
              target/x86_64-unknown-linux-gnu/release/deps/pr_status-* \
              target/x86_64-unknown-linux-gnu/release/pr-status

COPY src ./src
RUN cargo build --release --locked --target x86_64-unknown-linux-gnu \
    && install -D -m 0755 target/x86_64-unknown-linux-gnu/release/pr-status /out/pr-status \
    && /out/pr-status --version

# ---- rootfs: the few files a static binary needs at run time ----------------------------------
# The rust image is Debian with ca-certificates installed, so the CA bundle comes from there.
# docker/rootfs.sh is shared with the smoke test, which lays out the same files on the host.
FROM rust:1.95-bookworm AS rootfs
COPY docker/rootfs.sh /usr/local/bin/make-rootfs
RUN make-rootfs /rootfs

# ---- runtime: FROM scratch, what both images hold ----------------------------------------------
FROM scratch AS runtime
LABEL org.opencontainers.image.title="pr-status" \
      org.opencontainers.image.description="CI step that reports and gates on the pull requests containing the commit being built" \
      org.opencontainers.image.licenses="MIT"
COPY --from=rootfs /rootfs/etc/passwd /rootfs/etc/group /rootfs/etc/nsswitch.conf /etc/
COPY --from=rootfs /rootfs/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=rootfs --chown=10001:10001 /rootfs/workspace /workspace
COPY --from=build /out/pr-status /usr/local/bin/pr-status
# (USER left out: GitHub runs Docker actions as root.)
# Mount the repository here (`-v "$PWD:/workspace"`); the summary files are written relative to it.
# Pipelines and GitHub set their own working directory at run time.
WORKDIR /workspace
ENTRYPOINT ["/usr/local/bin/pr-status"]

# ---- default: the last stage, so `docker build .` gives the runtime without a shell -------------
FROM runtime

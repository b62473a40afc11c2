# pr-status container image: one static binary, the CA bundle and a non-root user, nothing else.
#
#   docker build -t pr-status .
#   docker run --rm -v "$PWD:/workspace" -e BITBUCKET_WORKSPACE=... pr-status
#
# The final stage is also what scripts/container-smoke.sh rebuilds locally (it copies the lines
# after the last `FROM scratch` and points each `COPY --from=` at local files), and
# action.Dockerfile is this file with the `USER` line dropped (GitHub runs Docker actions as
# root); scripts/dockerfile_stages.py checks that they agree. Keep the final stage to
# COPY/USER/WORKDIR/ENV/ENTRYPOINT/LABEL lines.

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

# ---- final: FROM scratch ----------------------------------------------------------------------
FROM scratch
LABEL org.opencontainers.image.title="pr-status" \
      org.opencontainers.image.description="CI step that reports and gates on the pull requests containing the commit being built" \
      org.opencontainers.image.licenses="MIT"
COPY --from=rootfs /rootfs/etc/passwd /rootfs/etc/group /rootfs/etc/nsswitch.conf /etc/
COPY --from=rootfs /rootfs/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=rootfs --chown=10001:10001 /rootfs/workspace /workspace
COPY --from=build /out/pr-status /usr/local/bin/pr-status
USER 10001:10001
# Mount the repository here (`-v "$PWD:/workspace"`); the summary files are written relative to it.
# Pipelines and GitHub set their own working directory at run time.
WORKDIR /workspace
ENTRYPOINT ["/usr/local/bin/pr-status"]

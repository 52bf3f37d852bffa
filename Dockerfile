# strata in a container, for CI systems that run images:
#
#   docker build -t strata .
#   docker run --rm -v "$PWD:/src" strata scan /src
#
# Stage 1 builds a static binary against musl (Alpine's native libc; the tree-sitter
# grammars are C, hence musl-dev). Stage 2 is distroless/static: no shell, no package
# manager, no libc, only the binary and CA certificates, running as a non-root user.
# Base images are pinned by tag; pin them by digest (`image:tag@sha256:...`) in a
# deployment that must not move.

FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /build
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY rules ./rules
# The build context has no .git: pass the commit for `strata --version`, e.g.
#   docker build --build-arg STRATA_GIT_COMMIT="$(git rev-parse HEAD)" -t strata .
ARG STRATA_GIT_COMMIT=""
ENV STRATA_GIT_COMMIT=${STRATA_GIT_COMMIT}
# Alpine's Rust targets musl and links it statically by default (crt-static).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --locked --release \
    && cp target/release/strata /strata \
    && /strata --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /strata /usr/local/bin/strata
# Paths in reports are shown relative to the working directory: mount the code at /src.
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/strata"]
CMD ["scan", "/src"]

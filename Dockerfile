# drlease: build with the locked dependencies, run on a distroless non-root base.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# build.rs: the binary's link options (packed relocations).
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
# The lease core, a crate of the workspace.
COPY crates ./crates
# The manifest declares the benchmark target, so its file must exist to build anything.
COPY benches ./benches
RUN cargo build --release --locked --bin drlease

# glibc and libgcc only: the binary is dynamically linked against nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/drlease /drlease
# distroless's nonroot user, by number so the runtime can check it is not root.
USER 65532:65532
EXPOSE 9797
ENTRYPOINT ["/drlease"]
CMD ["run"]

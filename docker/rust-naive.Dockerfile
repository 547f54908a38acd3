# The Rust rewrites the naive way: one stage with the toolchain, the sources,
# the registry and target/ all left in the image, big on purpose for the
# comparison. `--target who|hello|simple-script` only picks the command.
ARG RUST_IMAGE=rust:1.95
FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# Only the three shipped programs: the workspace's other members are tools.
RUN cargo build --release --locked -p who-server -p hello -p simple-script

FROM build AS who
EXPOSE 8080
CMD ["/src/target/release/who-server"]

FROM build AS hello
CMD ["/src/target/release/hello"]

FROM build AS simple-script
RUN ["/src/target/release/simple-script", "generate", "--out", "/src/output.txt"]
CMD ["/src/target/release/simple-script", "show", "/src/output.txt"]

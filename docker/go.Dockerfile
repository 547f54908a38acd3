# The Go originals of the course seeds, multi-stage: APP=who|hello|web picks
# originals/$APP. Official base by default; the Makefile may pass a stand-in.
ARG GO_IMAGE=golang:1.27-alpine
# arm64 is cross-compiled on the machine that builds (GOARCH), never
# emulated: BuildKit sets BUILDPLATFORM and TARGETARCH from --platform; the
# legacy builder takes them as build args (empty: amd64).
ARG BUILDPLATFORM

# imports: the standard-library packages the program builds on, listed
# (nothing compiled), so that the builder can compile them in a layer of
# their own that stays cached while the sources change and the imports do
# not, as cargo-chef's recipe does for the Rust images' dependencies. Since
# Go 1.20 the standard library is compiled by the first build that needs
# it; without this, every rebuild after a one-line change compiled it again.
FROM --platform=${BUILDPLATFORM:-linux/amd64} ${GO_IMAGE} AS imports
ARG APP=who
ARG TARGETARCH
WORKDIR /src
COPY originals/${APP}/ ./
RUN GOARCH=${TARGETARCH:-amd64} CGO_ENABLED=0 \
    go list -deps -f '{{if .Standard}}{{.ImportPath}}{{end}}' . >/std-packages

# builder: the whole Go toolchain, needed only to compile.
FROM --platform=${BUILDPLATFORM:-linux/amd64} ${GO_IMAGE} AS builder
ARG APP=who
ARG TARGETARCH
WORKDIR /src
# go.mod alone first, so module downloads stay cached while sources change.
COPY originals/${APP}/go.mod ./
RUN go mod download
# The standard library's packages, with the flags of the build below.
COPY --from=imports /std-packages /std-packages
RUN xargs </std-packages -r env CGO_ENABLED=0 GOARCH=${TARGETARCH:-amd64} go build -trimpath
COPY originals/${APP}/ ./
# Static (no cgo), no paths or symbols: the binary runs on an empty image.
# Dated SOURCE_DATE_EPOCH: the same program gives the same layer every build.
ARG SOURCE_DATE_EPOCH
RUN CGO_ENABLED=0 GOARCH=${TARGETARCH:-amd64} go build -trimpath -ldflags="-s -w" -o /out/app . \
 && touch -d "@${SOURCE_DATE_EPOCH:-0}" /out/app

# binaries: the builder's /out under the name the final stage copies from.
# Everything below this line is FROM scratch and copies from `binaries`
# only: a legacy arm64 build (the legacy builder refuses to COPY --from a
# stage of another platform) builds it on its own, after a `FROM scratch AS
# binaries` of the cross-compiled /out (build-images.sh).
FROM builder AS binaries

# final: scratch holds nothing but the binary, the seeds' point; exec-form
# ENTRYPOINT because scratch has no shell. EXPOSE is harmless for hello.
FROM scratch
COPY --from=binaries /out/app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app"]

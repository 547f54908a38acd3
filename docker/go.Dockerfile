# The Go originals of the course seeds, multi-stage: APP=who|hello|web picks
# originals/$APP. Official base by default; the Makefile may pass a stand-in.
ARG GO_IMAGE=golang:1.27-alpine

# build: the whole Go toolchain, needed only to compile.
FROM ${GO_IMAGE} AS build
ARG APP=who
WORKDIR /src
# go.mod alone first, so module downloads stay cached while sources change.
COPY originals/${APP}/go.mod ./
RUN go mod download
COPY originals/${APP}/ ./
# Static (no cgo), no paths or symbols: the binary runs on an empty image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app .

# final: scratch holds nothing but the binary, the seeds' point; exec-form
# ENTRYPOINT because scratch has no shell. EXPOSE is harmless for hello.
FROM scratch
COPY --from=build /app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app"]

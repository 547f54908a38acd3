# The Go originals the naive way (seed 002's "Dockerfile traditionnel"): one
# stage, so the image ships the whole toolchain next to a 7 MB binary.
ARG GO_IMAGE=golang:1.27
FROM ${GO_IMAGE}
ARG APP=who
WORKDIR /go/src/${APP}
COPY originals/${APP}/ ./
RUN CGO_ENABLED=0 go build -o /go/bin/app .
EXPOSE 8080
CMD ["/go/bin/app"]

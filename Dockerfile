# Multi-stage: a static binary on a small base, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sentinel ./cmd/sentinel

FROM debian:bookworm-slim
# git checks out repositories; ca-certificates reaches GitHub. No PostgreSQL
# server: the image needs DATABASE_URL (docker-compose.yml runs PostgreSQL in
# its own container); the managed cluster is for `make run` and the demo.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/sentinel sentinel
COPY --from=build /out/sentinel /usr/local/bin/sentinel
USER sentinel
WORKDIR /var/lib/sentinel
ENV SENTINEL_ADDR=0.0.0.0:8080 SENTINEL_DATA_DIR=/var/lib/sentinel/data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sentinel"]
CMD ["serve"]

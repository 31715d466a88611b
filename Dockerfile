# syntax=docker/dockerfile:1
# Bevis as one static binary in a minimal, non-root image.
#   docker build -t bevis .
#   docker run -p 8080:8080 -v bevis-data:/data bevis

FROM node:20-bookworm-slim AS ui
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/frontend/dist ./frontend/dist
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bevis ./cmd/bevis \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bevis /usr/local/bin/bevis
COPY --from=build --chown=65532:65532 /out/data /data
ENV BEVIS_LISTEN=0.0.0.0:8080 \
    BEVIS_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/bevis", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/bevis"]
CMD ["serve"]

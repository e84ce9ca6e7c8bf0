# Lantern's container image (docs/deploy.md, "The image"). Build:
#   podman build --format docker -t lantern .            (docker build -t lantern . works the same)
#   ... --build-arg WITH_TORCH=true                       adds Debian's python3-torch and torchvision
# Behind a proxy that re-signs TLS, pass its CA bundle as a build secret (never kept in the image):
#   --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
# It keeps TorchServe's image conventions: /home/model-server/{config.properties,model-store},
# `serve` by default, any other command run as given, user 1000, ports 8080 8081 8082 7070 7071.
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# ---- build: the TypeScript compiled, then production dependencies only ----
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
# Install scripts stay off (onnxruntime-node's postinstall downloads; its CPU binaries ship in the package).
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json \
 && find dist -name '*.test.js' -delete -o -name '*.test.d.ts' -delete -o -name '*.test.js.map' -delete \
 && rm -rf dist/e2e \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE}
ARG WITH_TORCH=false
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
    $(if [ "$WITH_TORCH" = true ]; then echo python3-torch python3-torchvision python3-pil; fi) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && sed -i -e '/^[^:]*:x:1000:/d' /etc/passwd /etc/group \
 && echo 'model-server:x:1000:1000:Lantern:/home/model-server:/bin/sh' >> /etc/passwd \
 && echo 'model-server:x:1000:' >> /etc/group
WORKDIR /opt/lantern
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY workers/python/lantern_worker ./workers/python/lantern_worker
COPY workers/python/ts ./workers/python/ts
COPY workers/node ./workers/node
COPY docker/config.properties /home/model-server/config.properties
COPY docker/entrypoint.sh /usr/local/bin/lantern-entrypoint
RUN ln -s /opt/lantern/bin/lantern /usr/local/bin/lantern \
 && ln -s /opt/lantern/bin/lantern-archiver.js /usr/local/bin/lantern-archiver \
 && ln -s /opt/lantern/bin/torchserve /usr/local/bin/torchserve \
 && mkdir -p /home/model-server/model-store /home/model-server/tmp /home/model-server/logs \
 && chown -R 1000:1000 /home/model-server/model-store /home/model-server/tmp /home/model-server/logs \
 && chmod 0555 /usr/local/bin/lantern-entrypoint

# With a read-only root filesystem only these are written: temporary files (extracted models,
# per-model pip installs, generated keys) and logs, with snapshots under logs/config.
ENV TEMP=/home/model-server/tmp \
    LOG_LOCATION=/home/model-server/logs \
    METRICS_LOCATION=/home/model-server/logs \
    HOME=/home/model-server \
    PYTHONDONTWRITEBYTECODE=1 \
    LANTERN_READYZ_URL=http://127.0.0.1:8080/readyz
VOLUME ["/home/model-server/tmp", "/home/model-server/logs"]
USER 1000:1000
WORKDIR /home/model-server
EXPOSE 8080 8081 8082 7070 7071
# Ready = started, startup models have ready workers, and not stopping (docs/deploy.md, "Readiness").
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.LANTERN_READYZ_URL).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/lantern-entrypoint"]
CMD ["serve"]

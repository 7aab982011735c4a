# syntax=docker/dockerfile:1
# One image for every service: `docker run carshare service user`, `… service gateway`, or
# `… up` for the whole platform in one process. Built from `npm run build`'s dist/release
# (scripts/build-release.mjs): one bundled program plus its production dependencies.

FROM node:24-bookworm-slim AS build
WORKDIR /src
# Native addons (argon2, sharp) come prebuilt for linux-x64; nothing is compiled here.
COPY . .
RUN npm ci --no-audit --no-fund && node scripts/build-release.mjs --out /release

FROM node:24-bookworm-slim
# tini reaps zombies and forwards SIGTERM, so a pod's stop drains the service (PID 1 does neither
# by default); no shell or package manager is needed at run time beyond what the base brings.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=root:root /release /app
ENV NODE_ENV=production
# The uid the Kubernetes manifests run as (scripts/deploy-artifacts.ts); the files stay root's,
# read-only to the service, and the root filesystem can be mounted read-only (only /tmp is written).
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "/app/carshare.mjs"]
CMD ["up", "--no-simulator"]

# syntax=docker/dockerfile:1
# One image for both commands, so the controller and the node plugin never differ in version:
#   docker build -t ghcr.io/warren-dev/warren:0.1.0 .
#   `warren controller` (Deployment) and `warren node` (DaemonSet) are its arguments.
# Node 24 runs the TypeScript sources directly: there is no build step, only dependencies.
ARG NODE_IMAGE=node:24-slim

# Production dependencies, exactly as package-lock.json pins them. No install scripts: none of
# them needs one, and none then runs at build time.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE}
# The node plugin runs mount -t nfs (mount.nfs from nfs-common) and umount (mount). Debian
# installs mount.nfs setuid root for user mounts; the plugin already runs as root and the
# controller must not gain root through it, so the bit is removed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nfs-common mount \
 && rm -rf /var/lib/apt/lists/* \
 && chmod u-s /sbin/mount.nfs
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY proto ./proto
COPY src ./src
# Non-root by default, numeric so that Kubernetes can check runAsNonRoot. The manifests in deploy/
# run the node plugin as root (privileged, it mounts) and the controller as uid 0 with three
# capabilities (it removes files that pods wrote as any user); see the comments there.
USER 65532:65532
ENTRYPOINT ["node", "/app/src/cli.ts"]

# syntax=docker/dockerfile:1
# One image for both commands, so the controller and the node plugin never differ in version:
#   docker build -t ghcr.io/warren-dev/warren:0.1.0 .
#   `warren controller` (Deployment) and `warren node` (DaemonSet) are its arguments.
# The sources are bundled with esbuild (hack/bundle.ts) into dist/: one file per entry point and
# shared chunks holding every dependency, so the image needs no node_modules and Node neither
# strips types from each .ts file nor resolves hundreds of modules at start (less memory, faster
# first Probe). `npm run demo` and the tests run the same code from src/.
ARG NODE_IMAGE=node:24-slim

# Dependencies exactly as package-lock.json pins them, esbuild among them. No install scripts:
# none of them needs one (esbuild's binary comes as a dependency of its own), and none then runs.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY src ./src
# The bundler and what it imports; it writes the CSI descriptors from proto/ into dist/proto/.
COPY proto ./proto
COPY hack/bundle.ts hack/bundle-options.ts hack/bundle-builtins.ts hack/proto-json.ts ./hack/
RUN node hack/bundle.ts /app/dist

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
# package.json says the bundle's .js files are ES modules; proto/ is read at start.
COPY package.json ./
COPY proto ./proto
COPY --from=build /app/dist ./dist
# Non-root by default, numeric so that Kubernetes can check runAsNonRoot. The manifests in deploy/
# run the node plugin as root (privileged, it mounts) and the controller as uid 0 with three
# capabilities (it removes files that pods wrote as any user); see the comments there.
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/cli.js"]

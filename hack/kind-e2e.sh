#!/usr/bin/env bash
# End to end on a real cluster, for machines with Docker (it cannot run on the Docker-less dev bed):
# builds the image, starts a kind cluster and an NFS server container beside it, deploys deploy/
# (kustomize base + an overlay pointing it at that server), runs a pod that writes to a Warren
# claim, checks the file on the server, deletes the claim and checks the directory is gone.
# Everything it created is removed on exit, success or not (WARREN_KIND_KEEP=1 keeps it for debugging).
#
# Needs: docker, kind, kubectl (1.23+). The NFS server is the kernel's nfsd (the image Kubernetes' own
# e2e tests use), so on a Linux host the nfsd module must be loadable: `sudo modprobe nfsd` if needed.
# Usage: hack/kind-e2e.sh
set -euo pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLUSTER=${WARREN_KIND_CLUSTER:-warren-e2e}
NFS_CONTAINER=$CLUSTER-nfs
NFS_IMAGE=registry.k8s.io/e2e-test-images/volume/nfs:1.4
WRITER_IMAGE=busybox:1.36
VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json")
IMAGE=ghcr.io/warren-dev/warren:$VERSION
DRIVER=nfs.warren.dev
TOKEN="written-through-warren-$$-$RANDOM"
# Inside the repository (.local/ is ignored by git) because kustomize takes a local base only by a
# relative path, and this one is then the same everywhere.
WORK=$ROOT/.local/kind-e2e

diagnose() {
  log "failed; cluster state follows"
  kubectl get all,pvc,pv,storageclass,csidriver -A -o wide || true
  kubectl -n e2e describe pvc/data pod/writer || true
  kubectl -n warren logs deployment/warren-controller --all-containers --tail=100 || true
  kubectl -n warren logs daemonset/warren-node --all-containers --tail=100 || true
  docker logs --tail 50 "$NFS_CONTAINER" || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if ((status != 0)); then diagnose; fi
  if [[ -n ${WARREN_KIND_KEEP:-} ]]; then
    log "kept: kind cluster $CLUSTER, container $NFS_CONTAINER, overlay $WORK"
  else
    log "cleaning up"
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    docker rm -f -v "$NFS_CONTAINER" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for cmd in docker kind kubectl; do need_cmd "$cmd" "hack/kind-e2e.sh needs docker, kind and kubectl"; done
[[ -n $VERSION ]] || die "no version in package.json"

log "building $IMAGE"
docker build -t "$IMAGE" "$ROOT"

log "creating kind cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --wait 180s
kubectl config use-context "kind-$CLUSTER" >/dev/null
kind load docker-image "$IMAGE" --name "$CLUSTER"

# The export must be a real directory, not the container's overlay root (nfsd cannot export that),
# hence the anonymous volume. The image exports it as the NFSv4 root: clients mount SERVER:/.
log "starting the NFS server ($NFS_IMAGE) on kind's network"
docker run -d --name "$NFS_CONTAINER" --privileged --network kind -v /exports "$NFS_IMAGE" /exports >/dev/null
for _ in $(seq 60); do
  if docker logs "$NFS_CONTAINER" 2>&1 | grep -q 'NFS started'; then break; fi
  if [[ $(docker inspect -f '{{.State.Running}}' "$NFS_CONTAINER") != true ]]; then
    die "the NFS server exited (is the nfsd kernel module available? try: sudo modprobe nfsd)"
  fi
  sleep 1
done
docker logs "$NFS_CONTAINER" 2>&1 | grep -q 'NFS started' || die "the NFS server did not start in 60 s"
NFS_IP=$(docker inspect -f '{{with index .NetworkSettings.Networks "kind"}}{{.IPAddress}}{{end}}' "$NFS_CONTAINER")
[[ -n $NFS_IP ]] || die "no address for $NFS_CONTAINER on the kind network"
log "NFS server at $NFS_IP:/"

# An overlay on the base, as a user would write one: the real server instead of nfs.example.com.
rm -rf "$WORK" && mkdir -p "$WORK/overlay"
cat >"$WORK/overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../deploy
patches:
  - path: controller-share.yaml
EOF
cat >"$WORK/overlay/controller-share.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: warren-controller
  namespace: warren
spec:
  template:
    spec:
      containers:
        - name: controller
          args:
            - controller
            - --provisioner=$DRIVER
            - --share=$NFS_IP:/=/exports/main
            - --leader-elect=true
            - --metrics-address=:8080
            - --log-level=debug
      volumes:
        - name: export-main
          nfs:
            server: $NFS_IP
            path: /
EOF
log "deploying Warren"
kubectl apply -k "$WORK/overlay"
kubectl -n warren rollout status deployment/warren-controller --timeout=180s
kubectl -n warren rollout status daemonset/warren-node --timeout=180s

log "a pod writes to a Warren claim"
kubectl apply -f - <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: warren-e2e
provisioner: $DRIVER
reclaimPolicy: Delete
parameters:
  server: "$NFS_IP"
  share: /
---
apiVersion: v1
kind: Namespace
metadata:
  name: e2e
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: e2e
spec:
  storageClassName: warren-e2e
  accessModes: [ReadWriteMany]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: writer
  namespace: e2e
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: writer
      image: $WRITER_IMAGE
      command: [sh, -c, 'echo "$TOKEN" > /data/hello.txt && sleep 3600']
      volumeMounts:
        - name: data
          mountPath: /data
  volumes:
    - name: data
      persistentVolumeClaim:
        claimName: data
EOF
kubectl -n e2e wait --for=jsonpath='{.status.phase}'=Bound pvc/data --timeout=120s
kubectl -n e2e wait --for=condition=Ready pod/writer --timeout=180s

PV=$(kubectl -n e2e get pvc data -o jsonpath='{.spec.volumeName}')
SUBDIR=$(kubectl get pv "$PV" -o jsonpath='{.spec.csi.volumeAttributes.subDir}')
[[ -n $SUBDIR ]] || die "PV $PV has no subDir attribute"
log "checking /exports/$SUBDIR/hello.txt on the server"
for _ in $(seq 30); do
  if [[ $(docker exec "$NFS_CONTAINER" cat "/exports/$SUBDIR/hello.txt" 2>/dev/null) == "$TOKEN" ]]; then break; fi
  sleep 1
done
[[ $(docker exec "$NFS_CONTAINER" cat "/exports/$SUBDIR/hello.txt") == "$TOKEN" ]] ||
  die "the server does not have what the pod wrote"

log "deleting the claim: the volume and its directory must go"
kubectl -n e2e delete pod writer --wait=true --timeout=120s
kubectl -n e2e delete pvc data --wait=true --timeout=60s
for _ in $(seq 120); do
  if ! kubectl get pv "$PV" >/dev/null 2>&1; then break; fi
  sleep 1
done
if kubectl get pv "$PV" >/dev/null 2>&1; then die "PV $PV still exists 120 s after its claim was deleted"; fi
if docker exec "$NFS_CONTAINER" test -e "/exports/$SUBDIR"; then
  die "/exports/$SUBDIR is still on the server after the volume was deleted"
fi

log "kind e2e passed: provision, mount, write, release on $CLUSTER"

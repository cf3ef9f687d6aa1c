#!/usr/bin/env sh
# Create (or replace) the patternlab-redis Secret with a fresh random password:
#   password  the Redis password (redis.yaml)
#   url       redis://:PASSWORD@patternlab-redis:6379/0, PATTERNLAB_REDIS_URL of the scheduler, workers
#             and gateway
# and, unless it exists, the patternlab-gateway Secret with a random API key of the gateway:
#   api-keys  one key per line (add a line to rotate keys; gateway.yaml mounts it as a file)
# Usage: ./create-secret.sh [NAMESPACE]
set -eu
ns="${1:-$(kubectl config view --minify -o jsonpath='{..namespace}')}"
ns="${ns:-default}"
password="$(openssl rand -hex 32)"
kubectl create secret generic patternlab-redis --namespace "$ns" \
  --from-literal=password="$password" \
  --from-literal=url="redis://:${password}@patternlab-redis:6379/0" \
  --dry-run=client -o yaml | kubectl apply --namespace "$ns" -f -
echo "secret patternlab-redis ready in namespace $ns"
if ! kubectl get secret patternlab-gateway --namespace "$ns" >/dev/null 2>&1; then
  kubectl create secret generic patternlab-gateway --namespace "$ns" \
    --from-literal=api-keys="$(openssl rand -hex 32)"
fi
echo "secret patternlab-gateway ready in namespace $ns; the key:" \
  "kubectl get secret patternlab-gateway -n $ns -o jsonpath='{.data.api-keys}' | base64 -d"

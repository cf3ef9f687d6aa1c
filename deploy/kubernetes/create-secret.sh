#!/usr/bin/env sh
# Create (or replace) the patternlab-redis Secret with a fresh random password:
#   password  the Redis password (redis.yaml)
#   url       redis://:PASSWORD@patternlab-redis:6379/0, PATTERNLAB_REDIS_URL of the scheduler and workers
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

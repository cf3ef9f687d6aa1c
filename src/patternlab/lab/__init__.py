"""Clusters: the :class:`Lab` session object (LocalCluster, SSH, Kubernetes, an existing
scheduler), which client a call runs on, the worker plugin, adaptive scaling and the cluster
part of the configuration."""

from __future__ import annotations

from .api import batch_perceive
from .config import ClusterConfig, load_cluster_config
from .kube import kube_spec
from .lab import Lab

__all__ = ["ClusterConfig", "Lab", "batch_perceive", "kube_spec", "load_cluster_config"]

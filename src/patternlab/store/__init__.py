"""Where patterns persist: sharded zarr run stores and archives (:mod:`.zarr`) and the live,
shared Redis pattern store (:mod:`.redis`)."""

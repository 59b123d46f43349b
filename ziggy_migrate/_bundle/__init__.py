"""The bundle layer: load, check, upgrade and save bundles; the JSON readers and writers."""

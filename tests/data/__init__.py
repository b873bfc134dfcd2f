"""Real trtexec/TREx fixtures (see SOURCES.md), their facts (registry.py) and a scaler (scaled.py)."""

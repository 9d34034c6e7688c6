"""The chain's rules: event kinds, R-strategies, who may record what, and lifecycle states."""

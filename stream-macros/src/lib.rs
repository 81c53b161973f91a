//! Macros of streamkit. Thin: they parse, validate and expand into calls of `stream-core`.

//! CSF command streams (placeholder until the encoder lands).

//! The Till terminal engine.

//! Helpers shared by Till's end-to-end tests.

pub mod proxy;

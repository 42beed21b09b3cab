//! Helpers shared by Till's end-to-end tests.

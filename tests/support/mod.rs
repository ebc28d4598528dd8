//! Helpers shared by the analysis tests.
pub mod claims;
pub mod worlds;

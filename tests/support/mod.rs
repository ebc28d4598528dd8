//! Helpers shared by the analysis tests.
pub mod worlds;

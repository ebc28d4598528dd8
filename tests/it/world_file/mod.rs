//! World files: fixed cases (the examples' round trip, refused values).

mod edit;
mod roundtrip;
mod safety;
mod store;

//! World files: fixed cases (the examples' round trip, refused values).

mod roundtrip;

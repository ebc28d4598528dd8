//! Property tests of the parsers: packet notation, CIDRs, port ranges (through the API's
//! permission checks and world files), and world files (bad input, round trips).

mod cidr;
mod packet;
mod ports;
mod world_errors;
mod world_roundtrip;

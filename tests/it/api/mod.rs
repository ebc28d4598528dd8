//! The API through its library entry point (`sgsim::api::call`).

mod calls;
mod props;

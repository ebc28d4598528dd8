//! The `sgsim` command line.

fn main() {
    println!("sgsim");
}

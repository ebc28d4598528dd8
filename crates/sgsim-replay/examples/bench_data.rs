//! Writes seeded flow logs of a world as CSV and as Parquet (numbers as Int64 columns), for
//! the throughput figures of `benches/README.md`:
//!
//! `cargo run --release -p sgsim-replay --example bench_data -- WORLD SEED CONNECTIONS OUTDIR`
//!
//! writes `OUTDIR/flows.csv` and `OUTDIR/flows.parquet` (the same records) and prints the
//! number of records.

use datafusion::arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use sgsim::model::{Direction, Verdict};
use sgsim::replay::gen::{generate, write_csv, GenOptions, GenRecord};
use sgsim::replay::record::COLUMNS;
use sgsim_replay::typed::INT_COLUMNS;
use std::io::Write;
use std::sync::Arc;

fn batch(schema: &Arc<Schema>, recs: &[GenRecord]) -> RecordBatch {
    let mut cols: Vec<ArrayRef> = Vec::new();
    for name in COLUMNS {
        if INT_COLUMNS.contains(&name) {
            let mut b = Int64Builder::with_capacity(recs.len());
            for g in recs {
                let r = &g.record;
                b.append_option(match name {
                    "srcport" => Some(i64::from(r.src_port)),
                    "dstport" => Some(i64::from(r.dst_port)),
                    "protocol" => Some(i64::from(r.protocol)),
                    "start" => Some(r.start),
                    "end" => Some(r.end),
                    "packets" => Some(r.packets as i64),
                    "bytes" => Some(r.bytes as i64),
                    _ => r.tcp_flags.map(i64::from),
                });
            }
            cols.push(Arc::new(b.finish()));
        } else {
            let mut b = StringBuilder::with_capacity(recs.len(), recs.len() * 12);
            for g in recs {
                let r = &g.record;
                let s = match name {
                    "eni-id" => r.eni.clone(),
                    "srcaddr" => r.src.to_string(),
                    "dstaddr" => r.dst.to_string(),
                    "direction" => match r.direction {
                        Some(Direction::Egress) => "out".into(),
                        _ => "in".into(),
                    },
                    "action" => match r.action {
                        Verdict::Accept => "ACCEPT".into(),
                        Verdict::Drop => "REJECT".into(),
                    },
                    _ => g.status.to_string(),
                };
                b.append_value(s);
            }
            cols.push(Arc::new(b.finish()));
        }
    }
    RecordBatch::try_new(schema.clone(), cols).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [world, seed, n, dir] = args.as_slice() else {
        eprintln!("usage: bench_data WORLD SEED CONNECTIONS OUTDIR");
        std::process::exit(2);
    };
    let world = sgsim::world_file::load(std::path::Path::new(world)).unwrap();
    let recs = generate(
        &world,
        &GenOptions {
            seed: seed.parse().unwrap(),
            connections: n.parse().unwrap(),
            ..GenOptions::default()
        },
    );
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("flows.csv")).unwrap());
    write_csv(&recs, &mut out).unwrap();
    out.flush().unwrap();
    let schema = Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|n| {
                let t = if INT_COLUMNS.contains(n) {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                Field::new(*n, t, true)
            })
            .collect::<Vec<_>>(),
    ));
    let file = std::fs::File::create(dir.join("flows.parquet")).unwrap();
    let mut w = ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    for chunk in recs.chunks(65536) {
        w.write(&batch(&schema, chunk)).unwrap();
    }
    w.close().unwrap();
    println!("{}", recs.len());
}

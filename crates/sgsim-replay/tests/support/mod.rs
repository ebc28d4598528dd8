//! Shared by the engine's tests: paths, jobs, a comparable view of a tally, the what-if
//! world of the examples and a Parquet writer (the arrow/parquet crates DataFusion brings).
#![allow(dead_code)]

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use sgsim::model::{Direction, Verdict};
use sgsim::replay::{Record, Tally};
use sgsim_replay::udf::Replayed;
use sgsim_replay::Job;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The checkout's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A job over `files` on `threads` partitions.
pub fn job(files: &[String], threads: usize) -> Job {
    Job {
        files: files.to_vec(),
        format: None,
        skip_bad: false,
        show: 50,
        threads,
        memory_limit: 256 << 20,
    }
}

/// A compiled world.
pub fn replayed(w: &sgsim::model::World) -> Arc<Replayed> {
    Arc::new(Replayed::new(w).unwrap())
}

/// Counts, hits per rule, disagreements and changes (file stem, line, decision).
pub type Key = (
    Vec<u64>,
    Vec<(String, u64, u64)>,
    Vec<(String, u64, String)>,
    Vec<(String, u64, String, String)>,
);

fn stem(f: &str) -> String {
    Path::new(f)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// A tally's comparable view; `line_shift` is added to every line (Parquet rows count from
/// 1, a CSV's from its header).
pub fn key(t: &Tally, line_shift: i64) -> Key {
    let line = |l: u64| (l as i64 + line_shift) as u64;
    (
        vec![
            t.records,
            t.skipped,
            t.unknown_eni,
            t.bad,
            t.decided,
            t.agree,
            t.disagree,
            t.changed,
        ],
        t.rules
            .iter()
            .map(|(k, h)| (k.clone(), h.accepted, h.refused))
            .collect(),
        t.disagreements
            .iter()
            .map(|d| {
                (
                    stem(&d.place.file),
                    line(d.place.line),
                    format!("{:?}", d.step),
                )
            })
            .collect(),
        t.changes
            .iter()
            .map(|c| {
                (
                    stem(&c.place.file),
                    line(c.place.line),
                    format!("{:?}", c.before),
                    format!("{:?}", c.after),
                )
            })
            .collect(),
    )
}

/// The examples' world after `examples/replay/close-https.txt`.
pub fn what_if_world(world: &sgsim::model::World) -> sgsim::model::World {
    let text = std::fs::read_to_string(root().join("examples/replay/close-https.txt")).unwrap();
    let mut call = String::new();
    for l in text.lines().map(str::trim) {
        if !l.is_empty() && !l.starts_with('#') {
            call.push_str(l);
        }
    }
    let mut w = world.clone();
    let r = sgsim::api::call(&mut w, &call, &sgsim::api::CallContext::scenario()).unwrap();
    assert!(r.is_ok(), "{}", r.body);
    w
}

/// Writes records as Parquet under the §10 column names, numbers as Int64 columns.
pub fn write_parquet(records: &[Record], path: &Path) {
    let text = |f: &dyn Fn(&Record) -> String| -> ArrayRef {
        Arc::new(StringArray::from(records.iter().map(f).collect::<Vec<_>>()))
    };
    let int = |f: &dyn Fn(&Record) -> Option<i64>| -> ArrayRef {
        Arc::new(Int64Array::from(records.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("eni-id", text(&|r| r.eni.clone())),
        ("srcaddr", text(&|r| r.src.to_string())),
        ("srcport", int(&|r| Some(i64::from(r.src_port)))),
        ("dstaddr", text(&|r| r.dst.to_string())),
        ("dstport", int(&|r| Some(i64::from(r.dst_port)))),
        ("protocol", int(&|r| Some(i64::from(r.protocol)))),
        (
            "direction",
            text(&|r| match r.direction {
                Some(Direction::Egress) => "out".into(),
                _ => "in".into(),
            }),
        ),
        ("start", int(&|r| Some(r.start))),
        ("end", int(&|r| Some(r.end))),
        ("packets", int(&|r| Some(r.packets as i64))),
        ("bytes", int(&|r| Some(r.bytes as i64))),
        (
            "action",
            text(&|r| {
                if r.action == Verdict::Accept {
                    "ACCEPT".into()
                } else {
                    "REJECT".into()
                }
            }),
        ),
        ("log-status", text(&|_| "OK".into())),
        ("tcp-flags", int(&|r| r.tcp_flags.map(i64::from))),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| {
                Field::new(
                    *n,
                    if a.data_type() == &DataType::Int64 {
                        DataType::Int64
                    } else {
                        DataType::Utf8
                    },
                    true,
                )
            })
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory for one test.
    pub fn new(name: &str) -> TempDir {
        let d =
            std::env::temp_dir().join(format!("sgsim-replay-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    /// A path inside it.
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

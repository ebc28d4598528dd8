//! The DataFusion engine against the in-memory oracle (`sgsim::replay::local`), in every
//! format (CSV, SLS JSON lines, AWS v2, Parquet) on the example logs and on generated ones:
//! the same counts, hits, disagreements and, for a what-if, changes.

mod support;

use sgsim::replay::gen::{generate, write_aws, write_csv, write_json, GenOptions, GenRecord};
use sgsim::replay::local::{read_all, replay};
use sgsim::replay::{Decider, InputFormat};
use sgsim_replay::run;
use std::path::Path;
use support::{job, key, replayed, root, what_if_world, write_parquet, Key, TempDir};

/// The oracle's tally of `files` (not Parquet) and the engine's tally of `engine_files`.
fn compare(
    world: &sgsim::model::World,
    against: Option<&sgsim::model::World>,
    oracle_files: &[String],
    engine_files: &[String],
    threads: usize,
    line_shift: i64,
) -> (Key, Key) {
    let inputs = read_all(oracle_files, None, false).unwrap();
    let new = against.map(|w| Decider::new(w).unwrap());
    let oracle = replay(&Decider::new(world).unwrap(), new.as_ref(), &inputs, 50);
    let engine = run(
        &job(engine_files, threads),
        replayed(world),
        against.map(replayed),
    )
    .unwrap();
    (key(&oracle, 0), key(&engine, line_shift))
}

fn path(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

#[test]
fn engine_agrees_with_the_oracle_on_the_examples_in_every_format() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = TempDir::new("examples");
    let csv = path(&root().join("examples/replay/web.csv"));
    let inputs = read_all(std::slice::from_ref(&csv), None, false).unwrap();
    let ok: Vec<GenRecord> = sgsim::replay::local::records(&inputs)
        .map(|r| GenRecord {
            record: r.clone(),
            status: "OK",
        })
        .collect();
    let csv_ok = path(&dir.join("web.csv"));
    let mut buf = Vec::new();
    write_csv(&ok, &mut buf).unwrap();
    std::fs::write(&csv_ok, buf).unwrap();
    let parquet = dir.join("web.parquet");
    write_parquet(
        &ok.iter().map(|g| g.record.clone()).collect::<Vec<_>>(),
        &parquet,
    );
    for f in [
        "examples/replay/web.csv",
        "examples/replay/web.jsonl",
        "examples/replay/web-aws.log",
    ] {
        let p = path(&root().join(f));
        for threads in [1, 3] {
            let (o, e) = compare(
                &world,
                None,
                std::slice::from_ref(&p),
                std::slice::from_ref(&p),
                threads,
                0,
            );
            assert_eq!(o, e, "{f}, {threads} threads");
            assert!(o.0[4] > 0, "{f}: nothing decided");
        }
    }
    // Parquet rows count from 1 where the CSV's header is line 1.
    let (o, e) = compare(&world, None, &[csv_ok], &[path(&parquet)], 2, 1);
    assert_eq!(o, e, "parquet");
}

#[test]
fn engine_agrees_on_generated_logs_in_every_format() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = TempDir::new("generated");
    for seed in [1u64, 2, 3] {
        for aws in [false, true] {
            let recs: Vec<GenRecord> = generate(
                &world,
                &GenOptions {
                    seed,
                    connections: 300,
                    flip_percent: if seed == 3 { 5 } else { 0 },
                    syn_swap_percent: if aws { 0 } else { 30 },
                    ..GenOptions::default()
                },
            );
            let mut files: Vec<(String, String, i64)> = Vec::new();
            if aws {
                let p = path(&dir.join(format!("g{seed}.log")));
                let mut buf = Vec::new();
                write_aws(&recs, &mut buf).unwrap();
                std::fs::write(&p, buf).unwrap();
                files.push((p.clone(), p, 0));
            } else {
                let csv = path(&dir.join(format!("g{seed}.csv")));
                let mut buf = Vec::new();
                write_csv(&recs, &mut buf).unwrap();
                std::fs::write(&csv, buf).unwrap();
                let json = path(&dir.join(format!("g{seed}.jsonl")));
                let mut buf = Vec::new();
                write_json(&recs, &mut buf).unwrap();
                std::fs::write(&json, buf).unwrap();
                let pq = dir.join(format!("g{seed}-ok.parquet"));
                let ok: Vec<_> = recs
                    .iter()
                    .filter(|g| g.status == "OK")
                    .map(|g| g.record.clone())
                    .collect();
                let ok_recs: Vec<GenRecord> =
                    recs.iter().filter(|g| g.status == "OK").cloned().collect();
                write_parquet(&ok, &pq);
                let csv_ok = path(&dir.join(format!("g{seed}-ok.csv")));
                let mut buf = Vec::new();
                write_csv(&ok_recs, &mut buf).unwrap();
                std::fs::write(&csv_ok, buf).unwrap();
                files.push((csv.clone(), csv, 0));
                files.push((json.clone(), json, 0));
                files.push((csv_ok, path(&pq), 1));
            }
            for (oracle, engine, shift) in &files {
                let (o, e) = compare(
                    &world,
                    None,
                    std::slice::from_ref(oracle),
                    std::slice::from_ref(engine),
                    3,
                    *shift,
                );
                if seed != 3 {
                    assert_eq!(e.0[6], 0, "{engine}: disagreements on unflipped records");
                }
                assert_eq!(o, e, "{engine}");
            }
        }
    }
}

#[test]
fn engine_what_if_agrees_with_the_oracle() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let new = what_if_world(&world);
    for f in ["examples/replay/web.csv", "examples/replay/web.jsonl"] {
        let p = path(&root().join(f));
        let (o, e) = compare(
            &world,
            Some(&new),
            std::slice::from_ref(&p),
            std::slice::from_ref(&p),
            2,
            0,
        );
        assert!(o.0[7] > 0, "{f}: the change alters nothing");
        assert_eq!(o, e, "{f}");
    }
}

#[test]
fn several_files_keep_their_own_lines() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let files: Vec<String> = ["examples/replay/web.csv", "examples/replay/web.jsonl"]
        .iter()
        .map(|f| path(&root().join(f)))
        .collect();
    let (o, e) = compare(&world, None, &files, &files, 2, 0);
    assert_eq!(o, e);
}

#[test]
fn sls_json_with_mixed_values_and_bad_records() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = TempDir::new("bad");
    let good = std::fs::read_to_string(root().join("examples/replay/web.jsonl")).unwrap();
    let mut lines: Vec<String> = good.lines().take(6).map(str::to_string).collect();
    // Line 3: a port out of range; line 5: an array where a value belongs; line 6: not JSON.
    lines[2] = lines[2].replacen("\"srcport\":", "\"srcport\":99999,\"x\":", 1);
    lines[4] = lines[4].replacen("\"start\":", "\"start\":[1],\"y\":", 1);
    lines[5] = "{not json".to_string();
    let p = path(&dir.join("bad.jsonl"));
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let files = vec![p.clone()];
    let e = run(&job(&files, 2), replayed(&world), None).unwrap_err();
    assert!(
        e.starts_with(&format!("{p} line 3: field `srcport`")),
        "{e}"
    );
    let mut j = job(&files, 2);
    j.skip_bad = true;
    let t = run(&j, replayed(&world), None).unwrap();
    assert_eq!((t.records, t.bad), (6, 3));
    let oracle = read_all(&files, None, true).unwrap();
    let o = replay(&Decider::new(&world).unwrap(), None, &oracle, 50);
    assert_eq!(key(&o, 0), key(&t, 0));
    // A bad field in CSV names its line too (the header is line 1).
    let csv = std::fs::read_to_string(root().join("examples/replay/web.csv")).unwrap();
    let mut rows: Vec<String> = csv.lines().take(5).map(str::to_string).collect();
    rows[3] = rows[3].replacen(",6,", ",tcp,", 1);
    let c = path(&dir.join("bad.csv"));
    std::fs::write(&c, rows.join("\n") + "\n").unwrap();
    let e = run(&job(std::slice::from_ref(&c), 1), replayed(&world), None).unwrap_err();
    assert!(
        e.starts_with(&format!("{c} line 4: field `protocol`")),
        "{e}"
    );
}

#[test]
fn a_format_can_be_forced_and_missing_files_are_named() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = TempDir::new("forced");
    let p = dir.join("flows.dat");
    std::fs::copy(root().join("examples/replay/web.jsonl"), &p).unwrap();
    let mut j = job(&[path(&p)], 2);
    assert!(run(&j, replayed(&world), None)
        .unwrap_err()
        .contains("give --format"));
    j.format = Some(InputFormat::SlsJson);
    let t = run(&j, replayed(&world), None).unwrap();
    assert!(t.decided > 0);
    for f in ["nope.csv", "nope.jsonl", "nope.parquet", "nope.log"] {
        let missing = path(&dir.join(f));
        let e = run(
            &job(std::slice::from_ref(&missing), 1),
            replayed(&world),
            None,
        )
        .unwrap_err();
        assert!(e.starts_with(&format!("{missing}: ")), "{e}");
    }
}

/// `text` with an empty line before every fifth line, a line of spaces before every
/// seventh and CRLF endings on every third (the core's reader skips blank lines and counts
/// them as lines).
fn with_blank_lines(text: &str) -> String {
    let mut out = String::from("\n");
    for (i, l) in text.lines().enumerate() {
        if i % 5 == 4 {
            out.push('\n');
        }
        if i % 7 == 6 {
            out.push_str("   \n");
        }
        out.push_str(l);
        out.push_str(if i % 3 == 2 { "\r\n" } else { "\n" });
    }
    out.push_str("\n\n");
    out
}

#[test]
fn blank_lines_keep_the_files_own_line_numbers() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = TempDir::new("blank");
    let recs = generate(
        &world,
        &GenOptions {
            seed: 3,
            connections: 200,
            flip_percent: 5,
            ..GenOptions::default()
        },
    );
    let mut csv = Vec::new();
    write_csv(&recs, &mut csv).unwrap();
    let mut json = Vec::new();
    write_json(&recs, &mut json).unwrap();
    let mut aws = Vec::new();
    write_aws(&recs, &mut aws).unwrap();
    for (name, text) in [("b.csv", csv), ("b.jsonl", json), ("b.log", aws)] {
        let p = path(&dir.join(name));
        std::fs::write(&p, with_blank_lines(&String::from_utf8(text).unwrap())).unwrap();
        let files = vec![p.clone()];
        let (o, e) = compare(&world, None, &files, &files, 2, 0);
        assert!(!o.2.is_empty(), "{name}: no disagreements to place");
        assert_eq!(o, e, "{name}");
    }
    // An error after blank lines names the file's own line.
    let good = std::fs::read_to_string(root().join("examples/replay/web.jsonl")).unwrap();
    let mut lines: Vec<String> = good.lines().take(6).map(str::to_string).collect();
    lines[4] = "{not json".to_string();
    let p = path(&dir.join("bad.jsonl"));
    std::fs::write(&p, with_blank_lines(&lines.join("\n"))).unwrap();
    let e = run(&job(std::slice::from_ref(&p), 2), replayed(&world), None).unwrap_err();
    let want = read_all(std::slice::from_ref(&p), None, false).unwrap_err();
    assert_eq!(e, want.to_string());
    assert!(
        e.starts_with(&format!("{p} line 7: not a JSON object")),
        "{e}"
    );
}

#[test]
fn a_csv_record_with_the_wrong_number_of_fields_is_one_bad_record() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = TempDir::new("width");
    let csv = std::fs::read_to_string(root().join("examples/replay/web.csv")).unwrap();
    let mut rows: Vec<String> = csv.lines().take(8).map(str::to_string).collect();
    // Line 3 lacks its last field, line 6 has one too many; line 7 an unterminated quote.
    let cut = rows[2].rfind(',').unwrap();
    rows[2].truncate(cut);
    rows[5].push_str(",extra");
    rows[6] = format!("\"{}", rows[6]);
    let c = path(&dir.join("width.csv"));
    std::fs::write(&c, rows.join("\n") + "\n").unwrap();
    let files = vec![c.clone()];
    let e = run(&job(&files, 2), replayed(&world), None).unwrap_err();
    let want = read_all(&files, None, false).unwrap_err();
    assert_eq!(e, want.to_string());
    assert!(e.starts_with(&format!("{c} line 3: ")), "{e}");
    assert!(e.contains("fields where the header has"), "{e}");
    let mut j = job(&files, 2);
    j.skip_bad = true;
    let t = run(&j, replayed(&world), None).unwrap();
    assert_eq!((t.records, t.bad), (7, 3));
    let oracle = read_all(&files, None, true).unwrap();
    let o = replay(&Decider::new(&world).unwrap(), None, &oracle, 50);
    assert_eq!(key(&o, 0), key(&t, 0));
}

//! The write-ahead journal beside a world file (`FILE.journal`), which `sgsim serve` uses so
//! that a durable write costs one append and one sync instead of a rewrite of the whole
//! world (see docs/serve.md), and which every reader folds in.
//!
//! Format: a header line `sgsim-journal 1 BASE`, where BASE is the FNV-1a hash (16 hex
//! digits) of the world file's bytes the journal applies to, then one line per applied
//! call: `CHECKSUM {"t":TIME,"id":REQUEST_ID,"q":QUERY}`, CHECKSUM the FNV-1a hash of the
//! JSON text. Replaying the calls in order on the world file (with their time and request
//! id, so created ids and stored responses come out the same) gives the current world. A
//! journal whose BASE is not the world file's hash is stale (the file was rewritten after
//! it, and holds its calls) and is ignored; a line that is torn or fails its checksum ends
//! the journal (it was never acknowledged).

use crate::api::{self, hash::Fnv64, CallContext};
use crate::model::World;
use crate::world_file;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &str = "sgsim-journal 1";

/// The journal's path beside the (real) world file: `FILE.journal`.
pub fn path_of(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".journal");
    target.with_file_name(name)
}

/// A call's parameters as a query string (`name=value` pairs percent-encoded, joined by
/// `&`), which [`api::parse_query`] reads back to the same parameters.
pub fn query_of(params: &api::Params) -> String {
    let enc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for &b in s.as_bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The FNV-1a hash of bytes, as 16 hex digits.
pub fn hash_hex(bytes: &[u8]) -> String {
    let mut h = Fnv64::new(0);
    h.bytes(bytes);
    format!("{:016x}", h.finish())
}

/// The header line (with its newline) of a journal over a file whose bytes hash to `base`.
pub fn header(base: &str) -> String {
    format!("{MAGIC} {base}\n")
}

/// A journal line: a call (`t`, `id`, `q`), or a checkpoint marker (`c`, `n`) saying
/// that the world file whose bytes hash to `c` holds the first `n` calls.
#[derive(Serialize, Deserialize, Default)]
struct Entry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    t: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<usize>,
}

fn line_of(e: &Entry) -> String {
    let json = serde_json::to_string(e).unwrap_or_default();
    format!("{} {json}\n", hash_hex(json.as_bytes()))
}

/// A checkpoint marker line: the world file whose bytes hash to `base` holds the
/// journal's first `calls` calls. Appended (and synced) before that file replaces the
/// old one, so a crash on either side of the rename leaves a journal that fits the file.
pub fn marker_line(base: &str, calls: usize) -> String {
    line_of(&Entry {
        c: Some(base.to_string()),
        n: Some(calls),
        ..Entry::default()
    })
}

/// One entry line (with its newline): a call as a query string, its time and request id.
pub fn entry_line(now: &str, request_id: &str, query: &str) -> String {
    line_of(&Entry {
        t: now.to_string(),
        id: request_id.to_string(),
        q: query.to_string(),
        ..Entry::default()
    })
}

/// A world as the file and its journal make it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The world, journal folded in.
    pub world: World,
    /// The hash of the world file's bytes.
    pub base: String,
    /// How many journal calls were folded in (0 without a valid journal).
    pub entries: usize,
    /// How many calls the journal file holds in all (0 when stale or missing).
    pub total: usize,
}

/// Folds the journal `text` into `world` when it fits the world file whose bytes hash to
/// `base`: from the start when its header names `base`, else after the last checkpoint
/// marker naming `base`. Returns (calls applied, calls in the journal); (0, 0) for a
/// stale or missing journal.
fn fold(world: &mut World, base: &str, text: &str) -> (usize, usize) {
    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return (0, 0);
    };
    let mut start = (first == header(base)).then_some(0);
    let mut calls: Vec<Entry> = Vec::new();
    for line in lines {
        let Some(line) = line.strip_suffix('\n') else {
            break; // torn tail
        };
        let Some((sum, json)) = line.split_once(' ') else {
            break;
        };
        if hash_hex(json.as_bytes()) != sum {
            break;
        }
        let Ok(e) = serde_json::from_str::<Entry>(json) else {
            break;
        };
        match (&e.c, e.n) {
            (Some(c), Some(n)) => {
                if c == base && n <= calls.len() {
                    start = Some(n);
                }
            }
            _ => calls.push(e),
        }
    }
    let Some(start) = start else {
        return (0, 0);
    };
    let mut applied = 0;
    for e in calls.iter().skip(start) {
        let Ok(params) = api::parse_query(&e.q) else {
            break;
        };
        let ctx = CallContext { now: e.t.clone() };
        let _ = api::call_with_id(world, &params, &ctx, &e.id);
        applied += 1;
    }
    (applied, calls.len())
}

/// Loads a world file and folds in its journal. Retries when the file is replaced while
/// it is being read.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let target = std::fs::canonicalize(path).map_err(|e| {
        format!(
            "{}: cannot read: {}",
            path.display(),
            world_file::io_reason(&e)
        )
    })?;
    let mut last_err = String::new();
    for _ in 0..5 {
        let before = std::fs::read(&target).map_err(|e| {
            format!(
                "{}: cannot read: {}",
                path.display(),
                world_file::io_reason(&e)
            )
        })?;
        let mut world = world_file::load(path).map_err(|e| e.to_string())?;
        let journal = read(&target).map_err(|reason| {
            format!(
                "{}: cannot read the journal: {reason}",
                path_of(&target).display()
            )
        })?;
        // The bytes after the journal was read: if they differ from the first read, a
        // writer replaced the file meanwhile, and the world and journal may not belong
        // together.
        let after = std::fs::read(&target).unwrap_or_default();
        if after != before {
            last_err = format!("{}: the file kept changing while read", path.display());
            continue;
        }
        let base = hash_hex(&before);
        let (entries, total) = fold(&mut world, &base, &journal);
        return Ok(Loaded {
            world,
            base,
            entries,
            total,
        });
    }
    Err(last_err)
}

/// Opens the journal without following a link and without blocking on a FIFO; it must be
/// a regular file. `create`: made (with the world file's mode) when missing.
fn open_journal(target: &Path, append: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(!append)
        .append(append)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path_of(target))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => {
                std::io::Error::other("it is a link (a journal is never followed through a link)")
            }
            Some(libc::ENXIO) | Some(libc::ENODEV) => std::io::Error::other("not a regular file"),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The journal's text beside the real world file `target`: empty when there is none; an
/// error (its short reason) when it cannot be read, is a link or is not a regular file.
/// Bytes that are not UTF-8 (a torn tail) are kept as replacement characters, which fail
/// their line's checksum.
fn read(target: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut file = match open_journal(target, false) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(world_file::io_reason(&e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| world_file::io_reason(&e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Opens the existing journal beside the real world file `target` for appending (never
/// through a link; a FIFO or other non-regular file is refused).
pub fn open_append(target: &Path) -> std::io::Result<std::fs::File> {
    open_journal(target, true)
}

/// Starts an empty journal over a file whose bytes hash to `base`, replacing any other
/// atomically with the world file's safe write (an exclusive, randomly named temporary
/// file given the world file's mode, synced, renamed over the journal, the folder synced;
/// a link there is replaced, not followed); returns it open for appending.
pub fn reset(target: &Path, base: &str) -> std::io::Result<std::fs::File> {
    crate::store::write_atomic(&path_of(target), header(base).as_bytes(), target)?;
    open_append(target)
}

/// Appends entry lines and syncs them to disk: once this returns, the calls are durable.
pub fn append(file: &mut std::fs::File, lines: &str) -> std::io::Result<()> {
    file.write_all(lines.as_bytes())?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world_file::Format;

    #[test]
    fn queries_round_trip() {
        let p = api::parse_query("A=a+b%2Bc%26d%3D%C3%A9&B=x%2Fy").unwrap();
        assert_eq!(api::parse_query(&query_of(&p)).unwrap(), p);
    }

    #[test]
    fn fold_applies_valid_entries_and_stops_at_a_torn_one() {
        let text = "region_id = \"cn-hangzhou\"\n[[vpcs]]\nid = \"vpc-1\"\n";
        let base = hash_hex(text.as_bytes());
        let create = "Action=CreateSecurityGroup&RegionId=cn-hangzhou&VpcId=vpc-1";
        let mut journal = header(&base);
        journal.push_str(&entry_line("2026-01-01T00:00:00Z", "R1", create));
        journal.push_str(&entry_line("2026-01-01T00:00:01Z", "R2", create));
        let torn = entry_line("2026-01-01T00:00:02Z", "R3", create);
        journal.push_str(&torn[..torn.len() - 5]);
        let mut w = world_file::load_str(text, Format::Toml, "t").unwrap();
        assert_eq!(fold(&mut w, &base, &journal), (2, 2));
        assert_eq!(w.security_groups.len(), 2);
        // A stale journal (other base) and a bad checksum apply nothing.
        let mut w = world_file::load_str(text, Format::Toml, "t").unwrap();
        assert_eq!(fold(&mut w, "0000000000000000", &journal), (0, 0));
        let bad = journal.replacen("R1", "R9", 1);
        assert_eq!(fold(&mut w, &base, &bad), (0, 0));
        assert!(w.security_groups.is_empty());
    }

    #[test]
    fn a_marker_starts_the_fold_for_its_file() {
        let text = "region_id = \"cn-hangzhou\"\n[[vpcs]]\nid = \"vpc-1\"\n";
        let base = hash_hex(text.as_bytes());
        let create = "Action=CreateSecurityGroup&RegionId=cn-hangzhou&VpcId=vpc-1";
        let mut journal = header(&base);
        journal.push_str(&entry_line("2026-01-01T00:00:00Z", "R1", create));
        // The world after R1, as a checkpoint would write it.
        let mut after1 = world_file::load_str(text, Format::Toml, "t").unwrap();
        assert_eq!(fold(&mut after1, &base, &journal), (1, 1));
        let text1 = world_file::to_string(&after1, Format::Toml).unwrap();
        let base1 = hash_hex(text1.as_bytes());
        journal.push_str(&marker_line(&base1, 1));
        journal.push_str(&entry_line("2026-01-01T00:00:01Z", "R2", create));
        // Before the rename: the old file, every call.
        let mut w = world_file::load_str(text, Format::Toml, "t").unwrap();
        assert_eq!(fold(&mut w, &base, &journal), (2, 2));
        // After it: the new file, the calls after the marker; the same world.
        let mut w1 = world_file::load_str(&text1, Format::Toml, "t").unwrap();
        assert_eq!(fold(&mut w1, &base1, &journal), (1, 2));
        assert_eq!(w, w1);
    }
}

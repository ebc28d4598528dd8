//! Rows to lines. DataFusion's CSV reader, which reads the text files one line to a row,
//! skips empty lines, so a row's number is its line's only until the first empty line. The
//! few rows a report names (disagreements, changes, the first malformed record) get their
//! lines here, by counting the file's lines again up to the last of them.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;

/// The line of each of `rows` (1-based rows as the reader numbers them: every non-empty
/// line, `\n` ending a line) in the file at `path`; a row past the end keeps its number.
pub fn lines_of_rows(path: &str, rows: &BTreeSet<u64>) -> Result<HashMap<u64, u64>, String> {
    let mut out = HashMap::new();
    let Some(&last) = rows.last() else {
        return Ok(out);
    };
    let mut f = std::fs::File::open(path)
        .map_err(|e| format!("{path}: {}", sgsim::world_file::io_reason(&e)))?;
    let mut wanted = rows.iter().copied().peekable();
    let mut buf = vec![0u8; 1 << 20];
    // The current line (1-based), the rows seen, and whether the current line has a byte.
    let (mut line, mut row, mut filled) = (1u64, 0u64, false);
    'read: loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{path}: {}", sgsim::world_file::io_reason(&e)))?;
        if n == 0 {
            break;
        }
        let mut at = 0;
        let chunk = buf.get(..n).unwrap_or_default();
        while at < chunk.len() {
            let rest = chunk.get(at..).unwrap_or_default();
            let (len, newline) = match memchr::memchr(b'\n', rest) {
                Some(p) => (p, true),
                None => (rest.len(), false),
            };
            if len > 0 && !filled {
                filled = true;
                row += 1;
                while let Some(w) = wanted.next_if(|&w| w <= row) {
                    if w == row {
                        out.insert(w, line);
                    }
                }
                if row >= last {
                    break 'read;
                }
            }
            at += len;
            if newline {
                at += 1;
                line += 1;
                filled = false;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lines_are_not_rows() {
        let dir = std::env::temp_dir().join(format!("sgsim-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.txt");
        std::fs::write(&p, "\nh\n\n\na\r\n \nb\n\n\nc").unwrap();
        let path = p.to_string_lossy().to_string();
        let rows: BTreeSet<u64> = [1, 2, 3, 4, 5, 9].into_iter().collect();
        let got = lines_of_rows(&path, &rows).unwrap();
        let want: HashMap<u64, u64> = [(1, 2), (2, 5), (3, 6), (4, 7), (5, 10)]
            .into_iter()
            .collect();
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

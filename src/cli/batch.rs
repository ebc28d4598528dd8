//! The pipeline of `sgsim check --batch`: the input read in blocks of whole lines, each
//! block parsed, decided and formatted by a worker thread, the answers written in input
//! order.
//!
//! With one thread everything runs on the calling thread. With N > 1 a reader thread reads
//! blocks, N workers answer them, and the calling thread hands blocks to the workers and
//! writes the answers as their turn comes; buffers go round (at most `2N + 2` blocks are in
//! flight), so memory stays bounded whatever the input's length. A regular file is read in
//! blocks of [`BLOCK`] bytes; a pipe or a terminal as its lines come, each block answered
//! and flushed at once, so a live feed gets its answers before the end of its input.

use sgsim::explain::batch::{Answers, Batch};
use sgsim::world_file;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::Mutex;

/// Bytes read from a regular file per block (about 6,000 lines of packets).
pub const BLOCK: usize = 256 * 1024;

/// Reads an input as blocks of whole lines.
struct BlockReader {
    file: std::fs::File,
    /// Whether the input is a regular file (read in full blocks) or a pipe or terminal
    /// (a block is whatever whole lines one read brought).
    regular: bool,
    /// The start of a line whose end is not read yet.
    carry: Vec<u8>,
    eof: bool,
    first: bool,
}

impl BlockReader {
    fn new(file: std::fs::File, regular: bool) -> BlockReader {
        BlockReader {
            file,
            regular,
            carry: Vec::new(),
            eof: false,
            first: true,
        }
    }

    /// Fills `buf` (cleared first) with the next block: whole lines, the last one without
    /// its newline only at the end of the input. `Ok(false)` at the end.
    fn next(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        buf.clear();
        std::mem::swap(buf, &mut self.carry);
        let mut chunk = [0u8; 1 << 16];
        while !self.eof {
            if self.regular && buf.len() >= BLOCK {
                break;
            }
            let n = match self.file.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let Some(read) = chunk.get(..n) else { break };
            if read.is_empty() {
                self.eof = true;
                break;
            }
            let had_line = read.contains(&b'\n');
            buf.extend_from_slice(read);
            if !self.regular && had_line {
                break;
            }
        }
        if self.first && !buf.is_empty() {
            self.first = false;
            // A byte-order mark before the first line is not part of it.
            if buf.starts_with("\u{feff}".as_bytes()) {
                buf.drain(..3);
            }
        }
        if !self.eof {
            // Keep the unfinished last line for the next block.
            let end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            self.carry
                .extend_from_slice(buf.get(end..).unwrap_or_default());
            buf.truncate(end);
        }
        Ok(!buf.is_empty() || !self.eof)
    }
}

/// Where the answers go, with the progress display and the place of the next line.
pub struct Sink<'a> {
    /// The input's name, for errors.
    pub input: &'a str,
    /// Whether the input is a regular file (else every block is flushed at once).
    pub regular: bool,
    /// The progress display, if shown.
    pub bar: Option<indicatif::ProgressBar>,
    /// Whether stdout is a terminal (the bar steps aside while answers are printed).
    pub stdout_tty: bool,
}

/// How writing a block ended.
enum Step {
    Go,
    Stop(i32),
}

struct Writer<'a, W: Write> {
    sink: Sink<'a>,
    out: W,
    line: usize,
    decided: u64,
    bytes: u64,
}

impl<W: Write> Writer<'_, W> {
    fn say_error(&mut self, message: String) -> i32 {
        let _ = self.out.flush();
        if let Some(b) = &self.sink.bar {
            b.abandon();
        }
        super::error(message);
        2
    }

    /// Writes a block's answers (and its error, which ends the batch).
    fn block(&mut self, input_len: usize, answers: &Answers) -> Step {
        let out = &mut self.out;
        let written = match &self.sink.bar {
            Some(b) if self.sink.stdout_tty => {
                b.suspend(|| out.write_all(&answers.text).and_then(|()| out.flush()))
            }
            _ => out.write_all(&answers.text),
        };
        if written.is_err() {
            return Step::Stop(0); // stdout closed (a pipe into `head`): stop quietly
        }
        self.decided += answers.decided;
        if let Some((i, msg)) = &answers.error {
            let message = format!("{}:{}: {msg}", self.sink.input, self.line + i);
            return Step::Stop(self.say_error(message));
        }
        self.line += answers.lines;
        self.bytes += input_len as u64;
        if !self.sink.regular && self.out.flush().is_err() {
            return Step::Stop(0);
        }
        if let Some(b) = &self.sink.bar {
            b.set_message(self.decided.to_string());
            match b.length() {
                Some(_) => b.set_position(self.bytes),
                None => b.tick(),
            }
        }
        Step::Go
    }

    fn read_error(&mut self, e: &std::io::Error) -> i32 {
        let message = format!(
            "{}:{}: cannot read: {}",
            self.sink.input,
            self.line,
            world_file::io_reason(e)
        );
        self.say_error(message)
    }

    fn finish(&mut self) -> i32 {
        if let Some(b) = &self.sink.bar {
            b.set_message(self.decided.to_string());
            b.finish();
        }
        let _ = self.out.flush();
        0
    }
}

/// Answers every line of `file` on `threads` threads; returns the exit status.
pub fn run(
    batch: &Batch<'_>,
    file: std::fs::File,
    threads: usize,
    sink: Sink<'_>,
    out: impl Write,
) -> i32 {
    let mut reader = BlockReader::new(file, sink.regular);
    let mut w = Writer {
        sink,
        out,
        line: 1,
        decided: 0,
        bytes: 0,
    };
    if threads <= 1 {
        let mut buf = Vec::new();
        let mut answers = Answers::default();
        loop {
            match reader.next(&mut buf) {
                Ok(true) => {}
                Ok(false) => return w.finish(),
                Err(e) => return w.read_error(&e),
            }
            batch.answer_block(&buf, &mut answers);
            if let Step::Stop(code) = w.block(buf.len(), &answers) {
                return code;
            }
        }
    }
    threaded(batch, reader, threads, w)
}

/// What the calling thread hears of the reader and the workers.
enum Event {
    /// Block `seq` of the input.
    Block(usize, Vec<u8>),
    /// The input could not be read after the blocks before `seq`.
    ReadError(usize, std::io::Error),
    /// The input ended after the blocks before `seq`.
    End(usize),
    /// Block `seq` answered.
    Done(usize, Vec<u8>, Answers),
}

/// A block to answer.
struct Job {
    seq: usize,
    input: Vec<u8>,
    answers: Answers,
}

/// What is ready to write, in turn.
enum Ready {
    Answers(Vec<u8>, Answers),
    ReadError(std::io::Error),
    End,
}

fn threaded<W: Write>(
    batch: &Batch<'_>,
    mut reader: BlockReader,
    threads: usize,
    mut w: Writer<'_, W>,
) -> i32 {
    let (events, heard) = mpsc::channel::<Event>();
    // Empty buffers for the reader: each block read takes one; each block written gives it back.
    let (credit, credits) = mpsc::channel::<Vec<u8>>();
    for _ in 0..2 * threads + 2 {
        let _ = credit.send(Vec::with_capacity(BLOCK + (1 << 16)));
    }
    // The reader is not joined: blocked on a live input that goes on, it must not hold the
    // batch up once it has ended (on a bad line or a closed stdout); the process's exit ends it.
    let to_main = events.clone();
    std::thread::spawn(move || {
        let mut seq = 0;
        while let Ok(mut buf) = credits.recv() {
            let event = match reader.next(&mut buf) {
                Ok(true) => Event::Block(seq, buf),
                Ok(false) => Event::End(seq),
                Err(e) => Event::ReadError(seq, e),
            };
            let last = !matches!(event, Event::Block(..));
            if to_main.send(event).is_err() || last {
                return;
            }
            seq += 1;
        }
    });
    let (work, jobs) = mpsc::channel::<Job>();
    let jobs = Mutex::new(jobs);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (jobs, done) = (&jobs, events.clone());
            s.spawn(move || loop {
                let job = match jobs.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(mut job) = job else { return };
                batch.answer_block(&job.input, &mut job.answers);
                if done
                    .send(Event::Done(job.seq, job.input, job.answers))
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(events);
        // Ending here drops `work` (the workers stop) and `heard` (the reader stops).
        let work = work;
        let heard = heard;
        let mut spare: Vec<Answers> = Vec::new();
        let mut ready: BTreeMap<usize, Ready> = BTreeMap::new();
        let mut next = 0usize;
        loop {
            let Ok(event) = heard.recv() else {
                return w.finish();
            };
            match event {
                Event::Block(seq, input) => {
                    let answers = spare.pop().unwrap_or_default();
                    if work
                        .send(Job {
                            seq,
                            input,
                            answers,
                        })
                        .is_err()
                    {
                        return w.finish();
                    }
                }
                Event::Done(seq, input, answers) => {
                    ready.insert(seq, Ready::Answers(input, answers));
                }
                Event::ReadError(seq, e) => {
                    ready.insert(seq, Ready::ReadError(e));
                }
                Event::End(seq) => {
                    ready.insert(seq, Ready::End);
                }
            }
            while let Some(r) = ready.remove(&next) {
                next += 1;
                match r {
                    Ready::Answers(input, answers) => {
                        if let Step::Stop(code) = w.block(input.len(), &answers) {
                            return code;
                        }
                        let _ = credit.send(input);
                        spare.push(answers);
                    }
                    Ready::ReadError(e) => return w.read_error(&e),
                    Ready::End => return w.finish(),
                }
            }
        }
    })
}

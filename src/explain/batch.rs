//! Batches of packets, one per line (`sgsim check --batch`): the line syntax and the
//! answers, decided by the compiled matcher on all cores. Reading the input and writing the
//! answers is the caller's.

use super::{batch_line, Explainer};
use crate::engine::compile::WorldMatcher;
use crate::engine::matcher::CompileError;
use crate::engine::reference;
use crate::model::{Direction, World};
use crate::packet::parse_packet;
use rayon::prelude::*;

/// One batch input line, split into the packet and its per-line options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLine<'a> {
    /// The packet text.
    pub packet: &'a str,
    /// `to=ID`, if given.
    pub to: Option<&'a str>,
    /// `ingress`/`egress`, if given.
    pub direction: Option<Direction>,
}

/// Splits a batch line: trailing `to=ID`, `ingress`, `egress` words (any order) are options.
pub fn split_batch_line(line: &str) -> BatchLine<'_> {
    let mut rest = line.trim_end();
    let mut to = None;
    let mut direction = None;
    while let Some((head, last)) = rest.rsplit_once(char::is_whitespace) {
        let head = head.trim_end();
        if let Some(id) = last.strip_prefix("to=") {
            to.get_or_insert(id);
        } else if let Some(d) = Direction::parse(last) {
            direction.get_or_insert(d);
        } else {
            break;
        }
        rest = head;
    }
    BatchLine {
        packet: rest.trim(),
        to,
        direction,
    }
}

/// How the answers of a batch are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerForm {
    /// `accept rule sgr-… sg-…` ([`batch_line`]).
    Line,
    /// The decision JSON object ([`super::DecisionView`]).
    Json,
}

/// The answer to one batch line: `Ok(None)` for a blank or comment line, the error message
/// (without the line's place) for a line that cannot be decided.
pub type LineAnswer = Result<Option<String>, String>;

/// The answers to a run of lines, written one per line in input order. Kept between runs,
/// its buffer is reused.
#[derive(Debug, Default)]
pub struct Answers {
    /// The answers, each ending in a newline.
    pub text: Vec<u8>,
    /// How many lines were decided (blank and comment lines are not).
    pub decided: u64,
    /// The first line that could not be decided, by its index in the lines given and with
    /// the message; no answer of a later line follows.
    pub error: Option<(usize, String)>,
}

/// Lines decided in one piece of work on one core.
const PART: usize = 256;

/// Chunks of fewer lines are decided on the calling thread.
const PARALLEL_FROM: usize = 1024;

/// A world compiled for deciding batches, with the batch's defaults.
pub struct Batch<'w> {
    world: &'w World,
    matcher: WorldMatcher,
    explainer: Explainer<'w>,
    to: Option<String>,
    direction: Direction,
    form: AnswerForm,
}

impl<'w> Batch<'w> {
    /// Compiles `world`; lines without options are decided at `to` (or the owner of the
    /// local address) in `direction`, and answered in `form`.
    pub fn new(
        world: &'w World,
        to: Option<String>,
        direction: Direction,
        form: AnswerForm,
    ) -> Result<Batch<'w>, CompileError> {
        Ok(Batch {
            world,
            matcher: WorldMatcher::compile(world)?,
            explainer: Explainer::new(world),
            to,
            direction,
            form,
        })
    }

    /// Appends the answer to one input line and a newline to `out`; `Ok(false)` (and
    /// nothing written) for a blank or comment line.
    pub fn answer_into(&self, line: &str, out: &mut Vec<u8>) -> Result<bool, String> {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(false);
        }
        let bl = split_batch_line(trimmed);
        let packet = parse_packet(bl.packet).map_err(|e| {
            format!(
                "invalid packet `{}`: {}",
                crate::world_file::quote(bl.packet),
                crate::world_file::quote(&e.to_string())
            )
        })?;
        let direction = bl.direction.unwrap_or(self.direction);
        let to = bl.to.or(self.to.as_deref());
        let d = self
            .matcher
            .decide(&packet, to, direction)
            .map_err(|e| e.to_string())?;
        match self.form {
            AnswerForm::Line => out.extend_from_slice(batch_line(&d).as_bytes()),
            AnswerForm::Json => {
                // The target as the view needs it (groups, NAT, NIC); it resolves as the
                // matcher's did, so an error here cannot follow a decision.
                let target = reference::resolve_with(
                    self.matcher.index(),
                    self.world,
                    &packet,
                    to,
                    direction,
                )
                .map_err(|e| e.to_string())?;
                self.explainer.view(&d, &target).write_json(out);
            }
        }
        out.push(b'\n');
        Ok(true)
    }

    /// The answer to one input line (without a newline).
    pub fn answer(&self, line: &str) -> LineAnswer {
        let mut out = Vec::new();
        if !self.answer_into(line, &mut out)? {
            return Ok(None);
        }
        out.pop();
        Ok(Some(String::from_utf8_lossy(&out).into_owned()))
    }

    /// Answers `lines` into `answers` (cleared first), stopping at the first line that
    /// cannot be decided; its index is counted from `first`.
    pub fn answer_lines(&self, lines: &[String], first: usize, answers: &mut Answers) {
        answers.text.clear();
        answers.decided = 0;
        answers.error = None;
        for (i, line) in lines.iter().enumerate() {
            match self.answer_into(line, &mut answers.text) {
                Ok(true) => answers.decided += 1,
                Ok(false) => {}
                Err(msg) => {
                    answers.error = Some((first + i, msg));
                    return;
                }
            }
        }
    }

    /// Answers a chunk of lines on all cores: `parts` becomes the answers to consecutive
    /// runs of the lines, in order (write each part's text, and stop at the first part
    /// with an error). Reusing `parts` between chunks reuses their buffers.
    pub fn answer_chunk(&self, lines: &[String], parts: &mut Vec<Answers>) {
        parts.resize_with(lines.len().div_ceil(PART), Answers::default);
        if lines.len() >= PARALLEL_FROM {
            parts
                .par_iter_mut()
                .zip(lines.par_chunks(PART))
                .enumerate()
                .for_each(|(k, (a, ls))| self.answer_lines(ls, k * PART, a));
        } else {
            for (k, (a, ls)) in parts.iter_mut().zip(lines.chunks(PART)).enumerate() {
                self.answer_lines(ls, k * PART, a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_after_the_packet() {
        let l = split_batch_line("tcp 1.2.3.4 -> 5.6.7.8:22 egress to=i-1  ");
        assert_eq!(l.packet, "tcp 1.2.3.4 -> 5.6.7.8:22");
        assert_eq!(l.to, Some("i-1"));
        assert_eq!(l.direction, Some(Direction::Egress));
        let l = split_batch_line("tcp 1.2.3.4 -> 5.6.7.8:22");
        assert_eq!((l.to, l.direction), (None, None));
        // Of repeated options the last one given wins.
        let l = split_batch_line("icmp 1.2.3.4 -> 5.6.7.8 to=a to=b");
        assert_eq!(l.to, Some("b"));
    }
}

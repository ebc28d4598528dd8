//! Batches of packets, one per line (`sgsim check --batch`): the line syntax and the
//! answers, decided by the compiled matcher, a block of lines at a time. Reading the input,
//! sharing the blocks out among threads and writing the answers in order is the caller's.

#[cfg(doc)]
use super::batch_line;
use super::Explainer;
use crate::engine::compile::WorldMatcher;
use crate::engine::matcher::CompileError;
use crate::engine::target::{decision, Outcome};
use crate::model::{Direction, World};
use crate::packet::parse_packet;

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

/// The answers to a block of input lines, written one per line in input order. Kept between
/// blocks, its buffer is reused.
#[derive(Debug, Default)]
pub struct Answers {
    /// The answers, each ending in a newline.
    pub text: Vec<u8>,
    /// How many lines were decided (blank and comment lines are not).
    pub decided: u64,
    /// How many input lines the block held (a last line without a newline counts).
    pub lines: usize,
    /// The first line that could not be decided, by its index in the block (from 0) and
    /// with the message; no answer of a later line follows.
    pub error: Option<(usize, String)>,
}

/// A world compiled for deciding batches, with the batch's defaults. It may be shared
/// between threads, each answering its own blocks of lines.
pub struct Batch<'w> {
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
        let (target, outcome) = self
            .matcher
            .outcome(&packet, to, direction)
            .map_err(|e| e.to_string())?;
        match self.form {
            AnswerForm::Line => write_line(outcome, direction, out),
            AnswerForm::Json => {
                // The target as the JSON needs it (groups, NAT, NIC) is the one decided.
                let d = decision(&packet, direction, target.id, outcome);
                self.explainer.write_batch_json(&d, &target, out);
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

    /// Answers a block of input: whole lines, each ending in `\n` except perhaps the last
    /// (the end of the input). `answers` is cleared first; it stops at the first line that
    /// cannot be decided (a line that is not UTF-8 is one).
    pub fn answer_block(&self, block: &[u8], answers: &mut Answers) {
        answers.text.clear();
        answers.decided = 0;
        answers.lines = 0;
        answers.error = None;
        let body = block.strip_suffix(b"\n").unwrap_or(block);
        if block.is_empty() {
            return;
        }
        for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
            answers.lines = i + 1;
            let answered = match std::str::from_utf8(raw) {
                Ok(line) => self.answer_into(line, &mut answers.text),
                Err(e) => Err(format!(
                    "the line is not UTF-8 text (invalid byte at column {})",
                    e.valid_up_to() + 1
                )),
            };
            match answered {
                Ok(true) => answers.decided += 1,
                Ok(false) => {}
                Err(msg) => {
                    answers.error = Some((i, msg));
                    return;
                }
            }
        }
    }
}

/// Appends the one-line batch answer ([`batch_line`]) to `out`, without allocating.
fn write_line(outcome: Outcome<'_>, direction: Direction, out: &mut Vec<u8>) {
    out.extend_from_slice(outcome.verdict(direction).as_str().as_bytes());
    match outcome {
        Outcome::Rule { group, rule, .. } => {
            out.extend_from_slice(b" rule ");
            out.extend_from_slice(rule.as_bytes());
            out.push(b' ');
            out.extend_from_slice(group.as_bytes());
        }
        Outcome::InnerAccess(group) => {
            out.extend_from_slice(b" inner-access ");
            out.extend_from_slice(group.as_bytes());
        }
        Outcome::Default(_) => out.extend_from_slice(b" default"),
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

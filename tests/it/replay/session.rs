//! The session model of SPEC §10, clause by clause, on hand-made records against
//! `examples/web.toml`: i-db accepts TCP 5432 from sg-web's members and drops all its
//! egress (but DNS), so a reply from i-db is accepted only inside an open connection.

use sgsim::model::Verdict;
use sgsim::replay::local::{outcomes, replay, Input};
use sgsim::replay::report::Place;
use sgsim::replay::{Decider, InputFormat, Item, Reader, Step};
use std::path::PathBuf;

fn decider() -> Decider {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/web.toml");
    Decider::new(&sgsim::world_file::load(&path).unwrap()).unwrap()
}

const HEADER: &str =
    "eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,start,end,packets,bytes,action,log-status,tcp-flags";

/// Records as CSV rows (without the header); every logged action `ACCEPT` unless written.
fn inputs(rows: &[&str]) -> Vec<Input> {
    let text = format!("{HEADER}\n{}\n", rows.join("\n"));
    Reader::new("t.csv", InputFormat::Csv, text.as_bytes())
        .enumerate()
        .map(|(seq, r)| {
            let (line, item) = r.unwrap();
            Input {
                place: Place {
                    file: "t.csv".into(),
                    line,
                    seq: seq as u64,
                },
                item: Some(item),
            }
        })
        .collect()
}

/// Each record's verdict (`None`: not decided), and whether it was a session acceptance.
fn verdicts(rows: &[&str]) -> Vec<Option<(Verdict, bool)>> {
    let d = decider();
    outcomes(&d, &inputs(rows))
        .into_iter()
        .map(|o| {
            o.and_then(|(_, s)| {
                let session = matches!(s, Step::Session(_));
                s.verdict().map(|v| (v, session))
            })
        })
        .collect()
}

const A: Option<(Verdict, bool)> = Some((Verdict::Accept, false));
const S: Option<(Verdict, bool)> = Some((Verdict::Accept, true));
const D: Option<(Verdict, bool)> = Some((Verdict::Drop, false));

// web → db request (accepted by sgr-db-from-web) and db's reply (dropped on its own).
const REQ: &str = "i-db,192.168.1.10,40000,192.168.2.20,5432,6,in";
const REP: &str = "i-db,192.168.2.20,5432,192.168.1.10,40000,6,out";

fn row(ends: &str, start: i64, end: i64, flags: &str) -> String {
    format!("{ends},{start},{end},1,60,ACCEPT,OK,{flags}")
}

fn run(rows: &[String]) -> Vec<Option<(Verdict, bool)>> {
    verdicts(&rows.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_reply_alone_is_decided_as_a_new_connection() {
    assert_eq!(run(&[row(REP, 100, 110, "")]), vec![D]);
}

#[test]
fn the_two_ends_are_unordered_replies_are_accepted() {
    assert_eq!(
        run(&[row(REQ, 100, 110, ""), row(REP, 100, 110, "")]),
        vec![A, S]
    );
}

#[test]
fn connections_are_per_eni() {
    // The same ends logged at another ENI (i-web, whose egress is accepted by default and
    // ingress from the db dropped) are another connection.
    let at_web = "i-web,192.168.2.20,5432,192.168.1.10,40000,6,in";
    assert_eq!(
        run(&[row(REQ, 100, 110, ""), row(at_web, 100, 110, "")]),
        vec![A, D]
    );
}

#[test]
fn the_protocol_is_part_of_the_connection() {
    let udp_reply = "i-db,192.168.2.20,5432,192.168.1.10,40000,17,out";
    assert_eq!(
        run(&[row(REQ, 100, 110, ""), row(udp_reply, 100, 110, "")]),
        vec![A, D]
    );
}

#[test]
fn records_are_replayed_in_order_of_start_not_input() {
    // The reply comes first in the input but starts later.
    assert_eq!(
        run(&[row(REP, 105, 110, ""), row(REQ, 100, 110, "")]),
        vec![S, A]
    );
}

#[test]
fn at_equal_start_a_syn_only_record_goes_first() {
    assert_eq!(
        run(&[row(REP, 100, 110, "18"), row(REQ, 100, 110, "2")]),
        vec![S, A]
    );
    // SYN with ACK (18) is not SYN-only: input order decides, the reply is first.
    assert_eq!(
        run(&[row(REP, 100, 110, "18"), row(REQ, 100, 110, "18")]),
        vec![D, A]
    );
}

#[test]
fn at_equal_start_and_flags_input_order_decides() {
    assert_eq!(
        run(&[row(REP, 100, 110, ""), row(REQ, 100, 110, "")]),
        vec![D, A]
    );
}

#[test]
fn open_for_910_seconds_after_the_largest_end() {
    assert_eq!(
        run(&[row(REQ, 100, 110, ""), row(REP, 1020, 1030, "")]),
        vec![A, S],
        "start = end + 910 is inside"
    );
    assert_eq!(
        run(&[row(REQ, 100, 110, ""), row(REP, 1021, 1030, "")]),
        vec![A, D],
        "start = end + 911 is decided anew"
    );
}

#[test]
fn the_largest_end_so_far_counts_and_records_extend_it() {
    // The second record ends at 2000: the third starts 1800 s after the first's end but
    // within 910 s of the largest end.
    assert_eq!(
        run(&[
            row(REQ, 100, 110, ""),
            row(REP, 500, 2000, ""),
            row(REP, 1900, 1950, ""),
            row(REP, 2910, 2920, ""),
            row(REP, 3831, 3840, ""),
        ]),
        vec![A, S, S, S, D]
    );
}

#[test]
fn a_late_record_is_decided_anew_like_a_first_record() {
    // After expiry the request is decided again, and accepted, so it opens again.
    assert_eq!(
        run(&[
            row(REQ, 100, 110, ""),
            row(REQ, 5000, 5010, ""),
            row(REP, 5100, 5110, ""),
        ]),
        vec![A, A, S]
    );
}

#[test]
fn a_rejected_first_record_opens_nothing_and_the_next_starts_over() {
    assert_eq!(
        run(&[
            row(REP, 100, 110, ""),
            row(REP, 120, 130, ""),
            row(REQ, 140, 150, ""),
            row(REP, 160, 170, ""),
        ]),
        vec![D, D, A, S]
    );
}

#[test]
fn in_is_ingress_with_the_source_as_peer_out_is_egress() {
    // i-db egress UDP 53 to 192.168.0.2 is accepted by sgr-db-dns; the same ends logged
    // `in` are ingress from the DNS server, dropped by default.
    let out = "i-db,192.168.2.20,5353,192.168.0.2,53,17,out";
    let inn = "i-db,192.168.0.2,53,192.168.2.20,5353,17,in";
    assert_eq!(run(&[row(out, 100, 110, "")]), vec![A]);
    assert_eq!(run(&[row(inn, 100, 110, "")]), vec![D]);
}

#[test]
fn an_instance_id_names_its_primary_eni_and_unknown_enis_are_counted() {
    let d = decider();
    let rows = [
        row(
            "i-web,203.0.113.7,50000,192.168.1.10,443,6,in",
            100,
            110,
            "",
        ),
        row(
            "eni-nope,203.0.113.7,50000,192.168.1.10,443,6,in",
            100,
            110,
            "",
        ),
    ];
    let ins = inputs(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    let t = replay(&d, None, &ins, 20);
    assert_eq!((t.records, t.decided, t.unknown_eni), (2, 1, 1));
    assert_eq!(t.rules.get("sgr-web-https").map(|h| h.accepted), Some(1));
}

#[test]
fn log_status_other_than_ok_is_skipped_before_anything_else() {
    let text = format!("{HEADER}\ni-db,-,-,-,-,-,-,-,-,-,-,-,NODATA,\n");
    let items: Vec<_> = Reader::new("t.csv", InputFormat::Csv, text.as_bytes())
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(items, vec![Item::Skipped]);
}

#[test]
fn hits_count_new_connections_and_unused_rules_are_those_of_replayed_enis() {
    let d = decider();
    let rows = [
        row(REQ, 100, 110, ""),
        row(REP, 100, 110, ""),
        row(REQ, 120, 130, ""),
        row(REP, 5000, 5010, ""),
    ];
    let ins = inputs(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    let t = replay(&d, None, &ins, 20);
    let h = |id: &str| t.rules.get(id).map(|h| (h.accepted, h.refused));
    assert_eq!(h("sgr-db-from-web"), Some((1, 0)));
    assert_eq!(h("sgr-db-no-egress"), Some((0, 1)));
    assert_eq!(t.unused(&d), vec!["sgr-db-dns".to_string()]);
    // The last record was logged ACCEPT but is decided drop: one disagreement.
    assert_eq!((t.agree, t.disagree), (3, 1));
    assert_eq!(t.disagreements.first().map(|x| x.place.line), Some(5));
}

#[test]
fn ride_replays_inside_the_open_connection_as_step_does() {
    use sgsim::model::Reason;
    use sgsim::replay::session::{Fresh, Session};
    let opened = || Fresh::Decided(Verdict::Accept, Reason::Default);
    let mut o = Session::new();
    o.step(0, 10, opened);
    assert_eq!(
        o.ride(900, 950),
        Some(&Reason::Default),
        "the opening reason"
    );
    // Records (start, end) after one opening at [100, 200]; `ride` and `step` side by side.
    let records = [
        (150, 300),
        (1210, 1220),
        (2130, 2140),
        (3100, 3200),
        (3200, 3300),
    ];
    let (mut by_ride, mut by_step) = (Session::new(), Session::new());
    assert_eq!(by_ride.ride(100, 200), None, "nothing is open yet");
    by_ride.step(100, 200, opened);
    by_step.step(100, 200, opened);
    for (start, end) in records {
        let rode = by_ride.ride(start, end).is_some();
        let step = by_step.step(start, end, || {
            Fresh::Decided(Verdict::Drop, Reason::Default)
        });
        assert_eq!(rode, matches!(step, Step::Session(_)), "{start}");
        if !rode {
            by_ride.step(start, end, || {
                Fresh::Decided(Verdict::Drop, Reason::Default)
            });
        }
        assert_eq!(by_ride.open_until(), by_step.open_until(), "{start}");
    }
    // 150..300 extends to 300 (open to 1210): 1210 rides, 2130 = 1220 + 910 rides, 3100 does
    // not (dropped: nothing open), nor 3200.
    assert_eq!(by_step.open_until(), None);
}

//! Flow-log readers: SLS JSON lines (strings or numbers), CSV with a header, AWS v2;
//! errors name the file, the line and the field; `--skip-bad` keeps going.

use sgsim::model::{Direction, Verdict};
use sgsim::replay::local::read_all;
use sgsim::replay::{InputFormat, Item, ReadError, Reader};

fn read(format: InputFormat, text: &str) -> Vec<Result<(u64, Item), ReadError>> {
    Reader::new("f", format, text.as_bytes()).collect()
}

fn record(item: &Item) -> &sgsim::replay::Record {
    match item {
        Item::Record(r) => r,
        Item::Skipped => panic!("skipped"),
    }
}

#[test]
fn sls_json_takes_strings_or_numbers_and_ignores_extra_keys() {
    let text = concat!(
        r#"{"eni-id":"eni-1","srcaddr":"10.0.0.1","srcport":"5000","dstaddr":"10.0.0.2","dstport":"22","protocol":"6","direction":"in","start":"100","end":"110","packets":"3","bytes":"180","action":"ACCEPT","log-status":"OK","tcp-flags":"2","__topic__":"x"}"#,
        "\n\n",
        r#"{"eni-id":"eni-1","srcaddr":"10.0.0.2","srcport":22,"dstaddr":"10.0.0.1","dstport":5000,"protocol":6,"direction":"out","start":100,"end":110,"packets":3,"bytes":180,"action":"REJECT","log-status":"OK"}"#,
        "\n"
    );
    let out = read(InputFormat::SlsJson, text);
    assert_eq!(out.len(), 2);
    let (l1, a) = out[0].as_ref().unwrap();
    let (l2, b) = out[1].as_ref().unwrap();
    assert_eq!((*l1, *l2), (1, 3));
    let (a, b) = (record(a), record(b));
    assert_eq!(a.direction, Some(Direction::Ingress));
    assert_eq!(a.tcp_flags, Some(2));
    assert!(a.syn_only());
    assert_eq!(b.direction, Some(Direction::Egress));
    assert_eq!(
        (b.src_port, b.dst_port, b.action),
        (22, 5000, Verdict::Drop)
    );
    assert_eq!(b.tcp_flags, None);
}

#[test]
fn csv_errors_name_file_line_and_field_counting_the_header() {
    let text = "eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,start,end,packets,bytes,action,log-status\n\
                eni-1,10.0.0.1,5000,10.0.0.2,22,6,in,100,110,1,60,ACCEPT,OK\n\
                eni-1,10.0.0.1,99999,10.0.0.2,22,6,in,100,110,1,60,ACCEPT,OK\n";
    let out = read(InputFormat::Csv, text);
    assert!(out[0].is_ok());
    let e = out[1].as_ref().unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (3, Some("srcport")));
    assert_eq!(
        e.to_string(),
        "f line 3: field `srcport`: not a port 0-65535: \"99999\""
    );
}

#[test]
fn each_field_is_checked() {
    let good = [
        "eni-1", "10.0.0.1", "5000", "10.0.0.2", "22", "6", "in", "100", "110", "1", "60",
        "ACCEPT", "OK",
    ];
    // The columns but `tcp-flags`, which may be missing.
    let names = &sgsim::replay::record::COLUMNS[..13];
    let bad = [
        ("srcaddr", "10.0.0"),
        ("dstaddr", "::1"),
        ("dstport", "x"),
        ("protocol", "256"),
        ("direction", "up"),
        ("start", "soon"),
        ("end", "50"),
        ("packets", "-3"),
        ("action", "ALLOW"),
    ];
    for (field, value) in bad {
        let row: Vec<&str> = names
            .iter()
            .zip(good)
            .map(|(n, g)| if *n == field { value } else { g })
            .collect();
        let text = format!("{}\n{}\n", names.join(","), row.join(","));
        let out = read(InputFormat::Csv, &text);
        let e = out[0].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (2, Some(field)), "{e}");
    }
}

#[test]
fn aws_v2_reads_interface_id_and_dashes() {
    let text = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
                2 123 eni-1 10.0.0.1 10.0.0.2 5000 22 6 3 180 100 110 ACCEPT OK\n\
                2 123 eni-1 - - - - - - - 100 110 - NODATA\n\
                2 123 eni-1 10.0.0.1 10.0.0.2 - - 1 3 180 100 110 REJECT OK\n";
    let out = read(InputFormat::Aws, text);
    let r = record(&out[0].as_ref().unwrap().1);
    assert_eq!(
        (r.eni.as_str(), r.direction, r.dst_port),
        ("eni-1", None, 22)
    );
    assert_eq!(out[1].as_ref().unwrap(), &(3, Item::Skipped));
    let icmp = record(&out[2].as_ref().unwrap().1);
    assert_eq!((icmp.protocol, icmp.src_port, icmp.dst_port), (1, 0, 0));
    // The direction follows from the ENI's addresses.
    let owns = |a: std::net::IpAddr| a.to_string() == "10.0.0.2";
    assert_eq!(r.direction_for(owns), Direction::Ingress);
    assert_eq!(r.direction_for(|_| false), Direction::Egress);
}

#[test]
fn a_header_without_the_eni_column_is_an_error_on_line_1() {
    let out = read(InputFormat::Csv, "a,b,c\n1,2,3\n");
    assert_eq!(out.len(), 1);
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.to_string().contains("eni-id"), "{e}");
}

#[test]
fn skip_bad_counts_bad_records_instead_of_failing() {
    let dir = std::env::temp_dir().join(format!("sgsim-replay-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.jsonl");
    std::fs::write(
        &path,
        "not json\n{\"eni-id\":\"e\",\"log-status\":\"NODATA\"}\n",
    )
    .unwrap();
    let p = path.to_string_lossy().to_string();
    let e = read_all(std::slice::from_ref(&p), None, false).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(
        e.to_string()
            .starts_with(&format!("{p} line 1: not a JSON object")),
        "{e}"
    );
    let ok = read_all(&[p], None, true).unwrap();
    assert_eq!(ok.len(), 2);
    assert!(ok[0].item.is_none());
    assert_eq!(ok[1].item, Some(Item::Skipped));
    std::fs::remove_dir_all(&dir).unwrap();
}

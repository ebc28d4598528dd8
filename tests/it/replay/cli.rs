//! `sgsim replay` runs the `sgsim-replay` binary beside the `sgsim` executable with the same
//! arguments, and says how to build it when it is absent.

use std::path::PathBuf;
use std::process::Command;

fn sandbox(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sgsim-replay-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_sgsim"), d.join("sgsim")).unwrap();
    d
}

#[test]
fn without_the_replay_binary_it_says_how_to_build_it() {
    let d = sandbox("absent");
    let out = Command::new(d.join("sgsim"))
        .args(["replay", "--world", "w.toml", "--flows", "f.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: sgsim replay runs the sgsim-replay binary"),
        "{err}"
    );
    assert!(err.contains("cargo build --release --workspace"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn it_runs_the_binary_beside_it_with_the_same_arguments_and_status() {
    use std::os::unix::fs::PermissionsExt;
    let d = sandbox("present");
    let fake = d.join("sgsim-replay");
    std::fs::write(&fake, "#!/bin/sh\nprintf '%s|' \"$@\"\nexit 3\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(d.join("sgsim"))
        .args([
            "replay", "--world", "a b.toml", "--flows", "x.csv", "--json", "--help",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "--world|a b.toml|--flows|x.csv|--json|--help|"
    );
    let _ = std::fs::remove_dir_all(&d);
}

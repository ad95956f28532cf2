//! `quadrec chat` driven through a pipe on the real MovieLens-100K (fetched and verified into
//! the cache on first use): real titles come back, a picked user's seen items are excluded, and
//! bad input gives a clear error line and a non-zero exit.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn chat(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quadrec"))
        .arg("chat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn quadrec");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn chat_through_a_pipe_recommends_real_titles_and_reports_bad_input() {
    // Cold: the request names a title, retrieval finds it. User 1 rated Toy Story (ML-100K
    // u.data: user 1, item 1, rating 5), so for that user it must be excluded.
    let script = "Toy Story\n/user 1\nToy Story\n/user 99999\n/k 3\na comedy from the 1990s\n/quit\nnot reached\n";
    let o = chat(&["--method", "retrieval", "-k", "5"], script);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    let blocks: Vec<&str> = out.split("user 1:").collect();
    assert_eq!(blocks.len(), 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(blocks[0].contains(" 1. Toy Story (1995)"), "cold answer:\n{}", blocks[0]);
    assert!(!blocks[1].contains("Toy Story (1995)"), "seen item recommended:\n{}", blocks[1]);
    assert!(blocks[1].contains("items seen; recent:"), "{}", blocks[1]);
    // The bad user is reported and the session goes on (with user 1 still selected).
    assert!(err.contains("error: unknown user `99999`"), "stderr:\n{err}");
    assert!(out.contains("k: 3"));
    let last: Vec<&str> = out.lines().skip_while(|l| *l != "k: 3").skip(1).collect();
    assert_eq!(last.len(), 3, "3 recommendations after /k 3:\n{out}");
    assert!(last.iter().all(|l| l.contains("genre=Comedy:") && l.contains("decade=1990s:")));
    assert!(last.iter().filter(|l| l.contains("genre=Comedy:yes")).count() >= 2, "{out}");
    assert!(!out.contains("not reached"));
    // A failed line makes a scripted session exit non-zero.
    assert_eq!(o.status.code(), Some(1), "stderr:\n{err}");

    // An unknown user on the command line fails before anything is fitted.
    let o = chat(&["--user", "99999"], "");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown user `99999`") && err.contains("943 users"), "{err}");
    // An unknown method is a usage error.
    let o = chat(&["--method", "telepathy"], "");
    assert_eq!(o.status.code(), Some(2));
}

//! Regression input of the telnet_session fuzz target: two chat users whose input runs the
//! rate limiter a fraction of a token short. The resume timer was then due at once and,
//! with no time passing on the harness clock, fired forever (a reactor spinning on one
//! connection). It must finish, and the fuzz target's own checks must hold.

#[test]
fn a_rate_limit_shortfall_of_a_fraction_of_a_token_still_waits_for_time_to_pass() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/telnet_session/hang-83a0585e37085131a5a5c1f3e383bbc8468ed58d"
    ))
    .expect("the regression input");
    // On the virtual clock the run takes milliseconds; the bug looped forever. A thread and
    // a generous limit make that a failure instead of a test that never ends.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        netreactor_protocols::telnet::fuzz::telnet_session(&input);
        let _ = done.send(());
    });
    assert!(
        finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_ok(),
        "the session never finished: the resume timer keeps firing with no time passing"
    );
}

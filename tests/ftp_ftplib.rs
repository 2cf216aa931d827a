//! Python's `ftplib` against the FTP server: transfers in passive and active mode,
//! permission letters, anonymous access, and the traversal and bounce battery.

mod common;
#[path = "ftp/support.rs"]
mod support;

fn scenario(name: &str) {
    let f = support::start();
    let root = f.root.to_str().unwrap().to_string();
    let out = support::python("ftplib_client.py", &[&f.port(), &root, name]);
    assert_eq!(out.trim(), "ok");
}

#[test]
fn ftplib_passive_transfers_listings_rename_delete() {
    scenario("pasv");
}

#[test]
fn ftplib_active_mode_transfers_listings_rename_delete() {
    scenario("port");
}

#[test]
fn ftplib_each_missing_permission_letter_gives_550_and_anonymous_is_read_only() {
    scenario("perms");
}

#[test]
fn ftplib_traversal_and_bounce_attempts_are_refused() {
    let f = support::start();
    let root = f.root.to_str().unwrap().to_string();
    let out = support::python("ftplib_client.py", &[&f.port(), &root, "traversal"]);
    assert_eq!(out.trim(), "ok");
    assert!(!f.outside.join("evil.txt").exists());
    assert!(
        !f.outside.join("nothing-here").exists(),
        "dangling link not followed"
    );
    assert_eq!(
        std::fs::read(f.outside.join("secret.txt")).unwrap(),
        b"top secret"
    );
}

#[test]
fn ftplib_abor_gives_426_then_226_and_a_reset_stor_reports_426() {
    scenario("abort");
}

#[test]
fn ftplib_rest_resumes_a_stor_keeping_the_rest_and_refuses_rest_with_appe() {
    scenario("resume");
}

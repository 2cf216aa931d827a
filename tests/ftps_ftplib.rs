//! Python's `ftplib.FTP_TLS` against the FTP server: `AUTH TLS`, `PROT P` transfers in
//! passive and active mode (LIST, NLST, MLSD, RETR, STOR), a truncated upload, and the
//! required-TLS and session-reuse policies.

mod common;
#[path = "ftp/support.rs"]
mod support;
#[path = "ftp/tls_support.rs"]
mod tls_support;

use netreactor_protocols::ftp::FtpsConfig;

fn scenario(name: &str, tweak: impl FnOnce(&mut FtpsConfig) + Send + 'static) {
    let f = tls_support::start(tweak);
    let root = f.root.to_str().unwrap().to_string();
    let ca = tls_support::cert();
    let out = support::python(
        "ftplib_tls_client.py",
        &[&f.port(), &root, ca.to_str().unwrap(), name],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn ftplib_prot_p_transfers_in_passive_and_active_mode_and_a_truncated_upload_is_426() {
    scenario("transfers", |_| {});
}

#[test]
fn ftplib_gets_530_for_a_plaintext_login_and_521_for_a_clear_data_channel_when_tls_is_required() {
    scenario("required", |t| t.required = true);
}

#[test]
fn ftplib_cannot_resume_the_control_session_so_required_reuse_answers_522() {
    scenario("reuse", |t| t.require_reuse = true);
}

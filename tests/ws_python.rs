//! The WebSocket echo server against Python's `websockets` client (tests/ws/client.py):
//! text, binary, fragmented, ping, close codes, limits, large messages, compression.

mod common;

use std::process::Command;

use netreactor::ListenOptions;
use netreactor_protocols::websocket::{self, Echo, ServerConfig};

fn run(scenario: &str) {
    let server = common::spawn(|r| {
        let mut config = ServerConfig::default();
        config.limits.max_message = 16 << 20;
        config.limits.max_frame = 16 << 20;
        let addr = websocket::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            config,
            || Echo,
        )?;
        Ok(vec![addr])
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ws/client.py");
    let out = Command::new(common::python())
        .arg(script)
        .arg(server.addr().port().to_string())
        .arg(scenario)
        .output()
        .expect("python3 runs (install it with .ci/run)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("PASS {scenario}")),
        "scenario {scenario} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn text_messages_echo() {
    run("text");
}

#[test]
fn binary_messages_echo() {
    run("binary");
}

#[test]
fn fragmented_messages_are_joined() {
    run("fragmented");
}

#[test]
fn pings_are_answered() {
    run("ping");
}

#[test]
fn close_codes_are_echoed() {
    run("close_codes");
}

#[test]
fn oversized_messages_close_with_1009() {
    run("too_big");
}

#[test]
fn large_messages_echo() {
    run("large");
}

#[test]
fn compressed_messages_echo() {
    run("compression_on");
}

#[test]
fn uncompressed_when_not_offered() {
    run("compression_off");
}

#[test]
fn compression_parameters_are_negotiated() {
    run("compression_params");
}

#[test]
fn every_combination_of_deflate_parameters_is_accepted() {
    run("every_offer");
}

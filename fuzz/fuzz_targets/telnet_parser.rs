#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netreactor_protocols::telnet::fuzz::telnet_parser(data));

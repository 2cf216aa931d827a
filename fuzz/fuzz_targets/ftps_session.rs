#![no_main]
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| netreactor_protocols::ftp::fuzz::ftps_session(data));
